"""Pages (rooms, room, sign-up), the JSON API, and the static files of the client."""

import logging
import math
from datetime import timedelta
from functools import wraps

from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles.views import serve
from django.db.models import F, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from . import direct, online, protocol, services
from .csp import csp
from .forms import OpenRoomForm, SignupForm
from .limits import login as loginlimit
from .models import Room

log = logging.getLogger("chat.views")

PUBLIC_ROOMS_SHOWN = 100

# The pages load only our own scripts and styles and talk only to their own origin: a
# message that slipped past the client's text-only rendering still could not run code.
CONTENT_SECURITY_POLICY = csp()


def private(response):
    """Mark a response that carries a private room's content: kept by no cache (the
    browser's included, so it is gone after logout), loaded by no other site (CORP)."""
    patch_cache_control(response, no_store=True, private=True)
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def content_security_policy(view):
    """Add the pages' Content-Security-Policy to view's responses."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return wrapped


def _online_counts(rooms):
    """{name: count} from Redis; None for every room while Redis does not answer."""
    try:
        return online.online_counts([r.name for r in rooms])
    except (RedisError, OSError):
        return {}


def _ago(moment):
    """'just now', '5 minutes ago', '2 days ago' (None when there was no activity)."""
    if moment is None:
        return None
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


def _rows(rooms, user=None):
    counts = _online_counts(rooms)
    return [
        {
            "room": r,
            "online": counts.get(r.name),
            "active": _ago(r.last_activity),
            "title": direct.title(r, user) if r.direct else r.name,
        }  # fmt: skip
        for r in rooms
    ]


def _public_rooms():
    order = [F("last_activity").desc(nulls_last=True), "name"]
    return list(Room.objects.filter(is_private=False).order_by(*order)[:PUBLIC_ROOMS_SHOWN])


def _rooms_of(user):
    """The rooms user belongs to or owns, private ones included, latest activity first."""
    order = [F("last_activity").desc(nulls_last=True), "name"]
    query = Room.objects.filter(Q(memberships__user=user) | Q(owner=user)).distinct()
    return list(query.order_by(*order))


@content_security_policy
def index(request):
    form = OpenRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("room", room=form.cleaned_data["room"])
    mine = _rows(_rooms_of(request.user), request.user) if request.user.is_authenticated else None
    context = {"form": form, "rows": _rows(_public_rooms()), "mine": mine}
    return render(request, "chat/index.html", context, status=400 if form.errors else 200)


@content_security_policy
def room(request, room):
    if not protocol.valid_room(room):
        return render(request, "chat/bad_room.html", {"room": room}, status=404)
    found = Room.objects.filter(name=room).first()  # a public room is created by joining it
    try:
        if found is not None:
            services.check_access(found, request.user)
    except services.LoginRequired:
        return redirect_to_login(request.get_full_path())
    except services.NotMember:
        # The same page a name nobody used yet gets: another site that makes its visitor
        # load this page cannot tell a private room they are not in from a free name.
        return render(request, "chat/room.html", {"room_name": room})
    # Who may delete any message here (the store's rule): the page offers them Delete.
    moderator = request.user.is_staff or (
        found is not None and found.is_private and found.owner_id == request.user.pk
    )
    context = {"room_name": room, "moderator": moderator}
    if found is not None and found.direct:  # titled by the other user's name
        context["room_title"] = direct.title(found, request.user)
    response = render(request, "chat/room.html", context)
    return private(response) if found is not None and found.is_private else response


def _signup_refusal(request, form):
    """None when this sign-up may go on (it is counted), else the status and Retry-After of
    the refusal, with the reason added to the form. Counted after the form is valid, so a
    typo costs nothing, and before the password is hashed and the account stored."""
    try:
        wait = loginlimit.signup_attempt(request.META.get("REMOTE_ADDR"))
    except (RedisError, OSError) as exc:
        log.warning("event=signup_limit_unavailable error=%r", exc)
        form.add_error(None, "Signing up is unavailable for a moment; try again shortly.")
        return 503, 5
    if wait is None:
        return None
    log.info("event=signup_rate_limited ip=%s", request.META.get("REMOTE_ADDR") or "-")
    minutes = max(1, math.ceil(wait / 60))
    form.add_error(
        None, f"Too many accounts were created from your address; try again in {minutes} minute(s)."
    )
    return 429, math.ceil(wait)


@content_security_policy
def signup(request):
    form = SignupForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        refusal = _signup_refusal(request, form)
        if refusal is not None:
            status, retry_after = refusal
            context = {"form": form, "next": next_url}
            response = render(request, "registration/signup.html", context, status=status)
            response.headers["Retry-After"] = str(retry_after)
            return response
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        safe = url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return redirect(next_url if safe else "home")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@require_GET
def rooms_api(request):
    """GET /api/rooms: the public rooms with their online counts (the rooms page polls it)."""
    rows = _rows(_public_rooms())
    rooms = [
        {
            "name": row["room"].name,
            "online": row["online"],
            "last_activity": row["room"].last_activity,
            "seq": row["room"].last_seq,
        }
        for row in rows
    ]
    return JsonResponse({"rooms": rooms})


@require_GET
def room_messages(request, room):
    """GET /api/rooms/<room>/messages?since=S&limit=L (contract: HTTP)."""
    if not protocol.valid_room(room):
        return JsonResponse({"error": "invalid room name"}, status=404)
    found = Room.objects.filter(name=room).first()
    if found is None:
        return JsonResponse({"error": "no such room"}, status=404)
    try:
        services.check_access(found, request.user)
    except services.LoginRequired:
        return JsonResponse({"error": "log in to read this room"}, status=401)
    except services.NotMember:
        return JsonResponse({"error": "you are not a member of this room"}, status=403)
    response = _messages_page(request, found, room)
    return private(response) if found.is_private else response


def _messages_page(request, found, room):
    """The page of messages the query string asks for (400 for a malformed one)."""
    limit = _int_param(request.GET.get("limit"), default=50, low=1, high=protocol.RESUME_MAX)
    since = _int_param(request.GET.get("since"), default=None, low=0, high=protocol.MAX_SEQ)
    if limit is False or since is False:
        return JsonResponse({"error": "since must be an integer >= 0, limit 1..500"}, status=400)
    if since is None:
        page = services.latest_messages(found, limit)
    else:
        page = services.events_after(found, since, limit)
    return JsonResponse(
        {"room": room, "seq": page.latest, "messages": page.messages, "complete": page.complete}
    )


def _int_param(value, *, default, low, high):
    """The integer in value, default when absent, False when invalid."""
    if value is None or value == "":
        return default
    number = protocol.parse_int(value, low=low, high=high)
    return False if number is None else number


@require_GET
def static_file(request, path):
    """The client's static files, found by the staticfiles finders (daphne serves no files).

    A handful of small files: serving them from Django costs little; a deployment behind a
    web server can serve `collectstatic`'s output from STATIC_ROOT instead.
    """
    response = serve(request, path, insecure=True)
    response.headers["Cache-Control"] = "no-cache"  # revalidated: Last-Modified gives 304s
    return response
