from django.contrib.auth import views as auth_views
from django.urls import path

from . import health_views, views

urlpatterns = [
    path("", views.index, name="home"),
    path("chat/<str:room>/", views.room, name="room"),
    path("api/rooms/<str:room>/messages", views.room_messages, name="room-messages"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("metrics", health_views.metrics_view, name="metrics"),
]
