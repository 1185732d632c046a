import re

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from . import api_views, direct_views, health_views, membership_views, token_views, views
from .limits import login as loginlimit

csp = views.content_security_policy

urlpatterns = [
    path("", views.index, name="home"),
    path("chat/<str:room>/", views.room, name="room"),
    path("api/rooms", views.rooms_api, name="rooms-api"),
    path("api/rooms/<str:room>/messages", api_views.room_messages, name="room-messages"),
    path("api/search", api_views.search_messages, name="search-api"),
    path("api/tokens", api_views.tokens_collection, name="api-tokens"),
    path("api/tokens/<str:name>", api_views.token_detail, name="api-token"),
    path("account/tokens/", token_views.tokens_page, name="tokens"),
    path("accounts/login/", csp(loginlimit.LimitedLoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("metrics", health_views.metrics_view, name="metrics"),
    path("rooms/new-private/", membership_views.new_private_room, name="private-room-new"),
    path("chat/<str:room>/members/", membership_views.room_members, name="room-members"),
    path("dm/<str:username>/", direct_views.open_direct, name="direct-room"),
]

# daphne serves no files: the client's scripts and styles come through Django.
if settings.STATIC_URL.startswith("/") or "://" not in settings.STATIC_URL:
    prefix = re.escape(settings.STATIC_URL.strip("/"))
    urlpatterns.append(re_path(rf"^{prefix}/(?P<path>.+)$", views.static_file, name="static-file"))
