"""Pages and the JSON API."""

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from . import presence, protocol, services
from .forms import OpenRoomForm
from .models import Room


def index(request):
    form = OpenRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("room", room=form.cleaned_data["room"])
    rooms = list(Room.objects.filter(is_private=False).order_by("-last_activity", "name")[:100])
    try:
        counts = presence.online_counts([r.name for r in rooms])
    except (RedisError, OSError):
        counts = {}
    rows = [{"room": r, "online": counts.get(r.name)} for r in rooms]
    return render(request, "chat/index.html", {"form": form, "rows": rows})


def room(request, room):
    if not protocol.valid_room(room):
        return render(request, "chat/bad_room.html", {"room": room}, status=404)
    return render(request, "chat/room.html", {"room_name": room})


def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@require_GET
def room_messages(request, room):
    """GET /api/rooms/<room>/messages?since=S&limit=L (contract: HTTP)."""
    if not protocol.valid_room(room):
        return JsonResponse({"error": "invalid room name"}, status=404)
    found = Room.objects.filter(name=room).first()
    if found is None:
        return JsonResponse({"error": "no such room"}, status=404)
    code = services.access_code(found, request.user)
    if code == services.CLOSE_ANONYMOUS_PRIVATE:
        return JsonResponse({"error": "log in to read this room"}, status=401)
    if code == services.CLOSE_NOT_MEMBER:
        return JsonResponse({"error": "you are not a member of this room"}, status=403)
    limit = _int_param(request.GET.get("limit"), default=50, low=1, high=protocol.RESUME_MAX)
    since = _int_param(request.GET.get("since"), default=None, low=0, high=protocol.MAX_SEQ)
    if limit is False or since is False:
        return JsonResponse({"error": "since must be an integer >= 0, limit 1..500"}, status=400)
    if since is None:
        page = services.latest_messages(found, limit)
    else:
        page = services.messages_after(found, since, limit)
    return JsonResponse(
        {"room": room, "seq": page.latest, "messages": page.messages, "complete": page.complete}
    )


def _int_param(value, *, default, low, high):
    """The integer in value, default when absent, False when invalid."""
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        return False
    return int(value)
