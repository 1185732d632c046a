"""Log-in attempt limits in Redis, per user name and per client address.

Every attempt with a user name and a password takes one from both limits *before* the
password is checked (atomically, one Lua script shared with chat.connlimit), so a burst
of parallel guesses cannot slip past a check-then-count race. A successful log-in gives
the user name its full allowance back; the address's allowance is never given back, or an
attacker could refill it by logging in to an account of their own between guesses.
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

from . import connlimit

__all__ = [
    "attempt", "succeeded", "reset", "LimitedAuthenticationForm",
    "LimitedAdminAuthenticationForm", "LimitedLoginView",
]  # fmt: skip

log = logging.getLogger("chat.loginlimit")

DEFAULT_USER_RATE = (10, 600.0)  # 10 guesses at once, then one a minute
DEFAULT_IP_RATE = (50, 300.0)  # 50 at once, then one every 6 s


def rates():
    """(user name rate, address rate), each (N, S) or None when off; read per call."""
    return (
        getattr(settings, "CHAT_LOGIN_RATE_USER", DEFAULT_USER_RATE),
        getattr(settings, "CHAT_LOGIN_RATE_IP", DEFAULT_IP_RATE),
    )


def user_key(username):
    """The key of a user name: case and compatibility forms folded (so "Alice" and
    "ＡＬＩＣＥ" share one allowance), hashed so any input makes a short key."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return "chat:login:user:" + hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


def attempt(username, ip):
    """None when an attempt for username from ip may go on (and is counted), else the
    seconds to wait. Raises RedisError when Redis does not answer."""
    user_rate, ip_rate = rates()
    bucket = connlimit.ip_bucket(ip) if ip else None
    limits = [(user_key(username), user_rate)]
    if bucket is not None:
        limits.append((f"chat:login:ip:{bucket}", ip_rate))
    keys, args = connlimit.plan(limits)
    if not keys:
        return None
    wait_ms = get_manager().client().eval(connlimit.SCRIPT, len(keys), *keys, *args)
    return None if int(wait_ms) <= 0 else connlimit.retry_after(wait_ms)


def succeeded(username):
    """username logged in: its allowance is full again."""
    reset(username)


def reset(username):
    """Give username its full allowance back (also for an operator unlocking an account)."""
    get_manager().client().delete(user_key(username))


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
            succeeded(username)
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
