"""Per-user chat settings that staff set in the admin (chat.models.ChatProfile)."""

from django.conf import settings

from .models import ChatProfile

__all__ = ["rate_exempt", "message_rate"]


def rate_exempt(user):
    """True when staff marked user as a bot whose messages skip the per-user message rate."""
    if not getattr(user, "is_authenticated", False):
        return False
    return ChatProfile.objects.filter(user_id=user.pk, rate_exempt=True).exists()


def message_rate(user):
    """The message rate (N, S) that applies to user's messages, None when none does (the
    rate is off, CHAT_MESSAGE_RATE=0, or the user is exempt)."""
    rate = settings.CHAT_MESSAGE_RATE
    if rate is None or rate_exempt(user):
        return None
    return rate
