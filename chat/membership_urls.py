"""URLs of the private-room pages (included from chat.urls)."""

from django.urls import path

from . import membership_views

urlpatterns = [
    path("rooms/new-private/", membership_views.new_private_room, name="private-room-new"),
    path("chat/<str:room>/members/", membership_views.room_members, name="room-members"),
]
