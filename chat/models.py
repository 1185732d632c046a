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


class ChatProfile(models.Model):
    """What the chat keeps about a user beyond Django's own fields (set by staff)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_profile"
    )
    rate_exempt = models.BooleanField(
        default=False,
        help_text="A bot: its messages do not count against the per-user message rate.",
    )

    def __str__(self):
        return f"chat profile of {self.user}"


class ApiToken(models.Model):
    """An API token of a user: its public key id and the SHA-256 of its secret (chat.tokens)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute (chat.token_auth), not on every request.
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_token_name_per_user")
        ]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.user})"
