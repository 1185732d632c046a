"""Rooms, memberships and messages: the durable record of the chat."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from .protocol import ROOM_PATTERN

room_name_validator = RegexValidator(
    ROOM_PATTERN,
    "A room name is 1-64 characters: lowercase letters, digits, '_' and '-', "
    "starting with a letter or digit.",
)


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[room_name_validator])
    is_private = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The seq of the room's latest message; the next one gets last_seq + 1 in the same
    # transaction that stores it (the row is locked meanwhile).
    last_seq = models.PositiveBigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} in {self.room}"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created = models.DateTimeField()
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="unique_room_seq"),
            models.UniqueConstraint(
                fields=["room", "user", "client_id"], name="unique_room_user_client_id"
            ),
        ]

    def __str__(self):
        return f"{self.room}#{self.seq}"
