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
    # A direct room (chat.direct): private, named dm-<smaller id>-<larger id>, its two
    # members fixed at creation; nobody owns it, nobody can add to it.
    direct = models.BooleanField(default=False)

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
    """A message in its current state; its seq is the seq of the event that posted it.

    Edits, deletions and reactions are later events of the room's log (Event); they change
    the columns here in the same transaction. `original` and `original_mentions` keep the
    message as posted once it is edited (null while it is not), for resume, which replays
    the log: a message event shows the message as posted, its edits follow."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created = models.DateTimeField()
    reply_to = models.PositiveBigIntegerField(null=True, blank=True)
    # The mentioned user names, sorted, space-separated ("" for none); Mention indexes them.
    mentions = models.TextField(default="", blank=True)
    edited = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    original = models.TextField(null=True, blank=True, editable=False)
    original_mentions = models.TextField(null=True, blank=True, editable=False)

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


class Event(models.Model):
    """An event of a room's log other than a message: an edit, a deletion, a reaction change.
    It takes the room's next seq, like a message, under the same lock."""

    EDIT, DELETE, REACTION = "edit", "delete", "reaction"
    KINDS = [(EDIT, "edit"), (DELETE, "delete"), (REACTION, "reaction")]

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=8, choices=KINDS)
    # Who did it; null only for deletions the data migration made of messages hidden
    # before there was a log (no record of which moderator hid them).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    target = models.PositiveBigIntegerField()
    text = models.TextField(default="", blank=True)  # edit
    mentions = models.TextField(default="", blank=True)  # edit
    emoji = models.CharField(max_length=32, default="", blank=True)  # reaction
    on = models.BooleanField(default=False)  # reaction
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="unique_event_room_seq"),
            models.UniqueConstraint(
                fields=["room", "user", "client_id"], name="unique_event_room_user_client_id"
            ),
        ]
        indexes = [models.Index(fields=["room", "target"], name="event_room_target")]

    def __str__(self):
        return f"{self.room}#{self.seq} {self.kind} of #{self.target}"


class Reaction(models.Model):
    """A user's reaction with one emoji to a message (current state; the log has its events)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "emoji", "user"], name="unique_reaction_per_user"
            )
        ]


class Mention(models.Model):
    """A user mentioned by a message as it reads now. Indexed by (user, room, seq): a user's
    unread mentions in a room (seq above their read position) are one range count on it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mention_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="unique_mention")]
        indexes = [models.Index(fields=["user", "room", "seq"], name="mention_user_room_seq")]


class ReadPosition(models.Model):
    """How far a user has read a room (the seq of the latest event seen), shared by their
    devices. A row is also what makes a room *followed* by the user (chat.readstate): made
    at their first logged-in connect to it, with a membership, or with a direct room, and
    removed with the membership."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="read_positions")
    seq = models.PositiveBigIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "room"], name="unique_read_position")
        ]
        indexes = [models.Index(fields=["room", "user"], name="read_position_room_user")]

    def __str__(self):
        return f"{self.user} read {self.room} to {self.seq}"


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
