"""Log-in and sign-up attempt limits in Redis.

Log-in attempts are limited per (address, user name) pair with a small allowance, per
address, and per user name across all addresses with a much higher ceiling (OWASP: throttle
per account and source, never lock an account outright), so a stranger who guesses wrong
passwords for `alice` exhausts only their own allowance, and a distributed guess is slowed.
Every attempt with a user name and a password takes one from each limit *before* the
password is checked (atomically, one Lua script shared with chat.limits.connections), so a burst of
parallel guesses cannot slip past a check-then-count race. A successful log-in gives the
pair its allowance back; neither the address's nor the user name's allowance is given back,
or an attacker could refill them by logging in to an account of their own between guesses.
Sign-ups are limited per address.
"""

import hashlib
import logging
import math
import unicodedata

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from redis.exceptions import RedisError

from redis_core import get_manager

from . import core

__all__ = [
    "attempt", "succeeded", "reset", "signup_attempt", "normalize", "LimitedAuthenticationForm",
    "LimitedAdminAuthenticationForm", "LimitedLoginView",
]  # fmt: skip

log = logging.getLogger("chat.limits.login")

DEFAULT_PAIR_RATE = (10, 600.0)  # one address, one user name: 10 at once, then one a minute
DEFAULT_USER_RATE = (100, 3600.0)  # one user name from anywhere: only slows a distributed guess
DEFAULT_IP_RATE = (50, 300.0)  # 50 at once, then one every 6 s
DEFAULT_SIGNUP_RATE = (5, 3600.0)  # 5 accounts at once per address, then one every 12 minutes
UNKNOWN_ADDRESS = "unknown"  # the pair of a user name when the server does not know the address


def rates():
    """(pair rate, user name rate, address rate), each (N, S) or None when off; per call."""
    return (
        getattr(settings, "CHAT_LOGIN_RATE_PAIR", DEFAULT_PAIR_RATE),
        getattr(settings, "CHAT_LOGIN_RATE_USER", DEFAULT_USER_RATE),
        getattr(settings, "CHAT_LOGIN_RATE_IP", DEFAULT_IP_RATE),
    )


def normalize(username):
    """The user name a limit counts: compatibility forms, case and surrounding space folded,
    so "alice", "ALICE", "ａｌｉｃｅ" and " alice " share one allowance."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


def _digest(username):
    """A short fixed-length name for any input (lone surrogates included)."""
    return hashlib.sha256(normalize(username).encode("utf-8", "surrogatepass")).hexdigest()


def user_key(username):
    """The key of a user name's ceiling across all addresses."""
    return "chat:login:user:" + _digest(username)


def pair_key(username, ip):
    """The key of one user name from one address (IPv6 by its /64)."""
    bucket = (core.ip_bucket(ip) if ip else None) or UNKNOWN_ADDRESS
    return f"chat:login:pair:{_digest(username)}:{bucket}"


def attempt(username, ip):
    """None when an attempt for username from ip may go on (and is counted), else the
    seconds to wait. Raises RedisError when Redis does not answer."""
    pair_rate, user_rate, ip_rate = rates()
    bucket = core.ip_bucket(ip) if ip else None
    limits = [(pair_key(username, ip), pair_rate), (user_key(username), user_rate)]
    if bucket is not None:
        limits.append((f"chat:login:ip:{bucket}", ip_rate))
    return core.take(limits)


def succeeded(username, ip):
    """username logged in from ip: that pair's allowance is full again (nothing else)."""
    get_manager().client().delete(pair_key(username, ip))


def reset(username):
    """Give username every allowance back, from every address (an operator unlocking it)."""
    client = get_manager().client()
    keys = list(client.scan_iter(match=f"chat:login:pair:{_digest(username)}:*", count=1000))
    client.delete(user_key(username), *keys)


def signup_attempt(ip):
    """None when a sign-up from ip may go on (and is counted), else the seconds to wait.
    An unknown address is not limited (see chat.limits.connections). Raises RedisError."""
    bucket = core.ip_bucket(ip) if ip else None
    if bucket is None:
        return None
    rate = getattr(settings, "CHAT_SIGNUP_RATE_IP", DEFAULT_SIGNUP_RATE)
    return core.take([(f"chat:signup:ip:{bucket}", rate)])


class LimitedLoginMixin:
    """An authentication form that refuses attempts over the limits, before any password
    is checked. `retry_after` (seconds) is set when refused for the rate."""

    retry_after = None
    unavailable = False

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # nothing is authenticated without both
        ip = self.request.META.get("REMOTE_ADDR") if self.request is not None else None
        try:
            wait = attempt(username, ip)
        except (RedisError, OSError) as exc:
            # Closed, not open: without Redis guesses could not be counted.
            log.warning("event=login_limit_unavailable error=%r", exc)
            self.unavailable = True
            raise ValidationError(
                "Logging in is unavailable for a moment; try again shortly.", code="unavailable"
            ) from None
        if wait is not None:
            self.retry_after = wait
            log.info("event=login_rate_limited ip=%s", ip or "-")
            raise ValidationError(
                "Too many log-in attempts; try again in %(minutes)s minute(s).",
                code="rate_limited",
                params={"minutes": max(1, math.ceil(wait / 60))},
            )
        cleaned = super().clean()  # raises for a wrong password or a refused account
        try:
            succeeded(username, ip)
        except (RedisError, OSError) as exc:
            log.warning("event=login_limit_reset_failed error=%r", exc)
        return cleaned


class LimitedAuthenticationForm(LimitedLoginMixin, AuthenticationForm):
    """The log-in page's form, with attempt limits."""


class LimitedAdminAuthenticationForm(LimitedLoginMixin, AdminAuthenticationForm):
    """The admin's log-in form, with the same limits (`admin.site.login_form`)."""


class LimitedLoginView(LoginView):
    """/accounts/login/: 429 with Retry-After over the limits, 503 while Redis is away."""

    form_class = LimitedAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(math.ceil(form.retry_after))
        elif form.unavailable:
            response.status_code = 503
            response.headers["Retry-After"] = "5"
        return response
