"""The JSON API for bots and scripts: post into a room, manage one's API tokens.

    POST   /api/rooms/<room>/messages   {"text", "client_id", "reply_to"}  (token or session)
    GET    /api/rooms/<room>/messages   (chat.views.room_messages, with the token's user)
    POST   /api/tokens                  {"name"}   (session only)
    GET    /api/tokens                             (session only)
    DELETE /api/tokens/<name>                      (session only)
    GET    /api/search?q=&room=&before=&limit=     (token or session; chat.search)

Errors are `{"error": code, "detail": ...}` with the WebSocket's codes (docs/protocol.md).
"""

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt

from . import api, protocol, search, services, token_auth, tokens, views
from .http_auth import authenticate, csrf_refusal, json_error
from .models import ApiToken, Room

__all__ = ["room_messages", "tokens_collection", "token_detail", "search_messages", "STATUS"]

# The HTTP status of each error code (the contract's table).
STATUS = {
    "bad_json": 400, "bad_type": 400, "bad_field": 400, "empty": 400, "too_long": 400,
    "auth_required": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
    "rate_limited": 429, "unavailable": 503,
}  # fmt: skip
MAX_BODY = protocol.MAX_FRAME_BYTES  # as a socket's frame: no valid message is larger


def _not_allowed(*methods):
    response = json_error(405, "bad_type", f"Use {' or '.join(methods)}.")
    response.headers["Allow"] = ", ".join(methods)
    return response


def _json_body(request):
    """The request's JSON object; ProtocolError (bad_json, too_long) otherwise."""
    if len(request.body) > MAX_BODY:
        raise protocol.ProtocolError("too_long", f"The body is over {MAX_BODY} bytes.")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise protocol.ProtocolError("bad_json", "The body is not UTF-8.") from None
    return protocol.load_object(text)


def _no_store(response):
    patch_cache_control(response, no_store=True, private=True)
    return response


@csrf_exempt  # checked in csrf_refusal(), for session requests only
def room_messages(request, room):
    """GET: a page of the room's messages; POST: post one, as the WebSocket does."""
    refusal = authenticate(request)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        return views.room_messages(request, room)
    if request.method != "POST":
        return _not_allowed("GET", "POST")
    if not request.user.is_authenticated:
        return json_error(401, "auth_required", "Send Authorization: Bearer <API token>.")
    refusal = csrf_refusal(request)
    if refusal is not None:
        return refusal
    try:
        frame = _json_body(request)
        posted = api.post_message(
            room, request.user, frame.get("text"), frame.get("client_id"), frame.get("reply_to")
        )
    except protocol.ProtocolError as exc:
        return json_error(400, exc.code, exc.detail)
    except api.ApiError as exc:
        return json_error(STATUS[exc.code], exc.code, exc.detail, exc.retry_after)
    return _no_store(JsonResponse(posted.message, status=201 if posted.created else 200))


def _session_user(request):
    """None when a logged-in session request may go on (CSRF passed), else the refusal.
    Tokens do not manage tokens: a leaked token cannot make itself another one."""
    if not request.user.is_authenticated:
        return json_error(401, "auth_required", "Log in: tokens are managed with a session.")
    return csrf_refusal(request)


def _listed(token):
    return {"name": token.name, "created": token.created, "last_used": token.last_used}


@csrf_exempt  # checked in _session_user()
def tokens_collection(request):
    """POST: a new token, shown this once; GET: the user's tokens (names and dates)."""
    if request.method not in ("GET", "POST"):
        return _not_allowed("GET", "POST")
    refusal = _session_user(request)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        rows = ApiToken.objects.filter(user=request.user).order_by("name")
        return _no_store(JsonResponse({"tokens": [_listed(t) for t in rows]}))
    try:
        name = _json_body(request).get("name")
        token, text = token_auth.create_token(request.user, name)
    except protocol.ProtocolError as exc:
        return json_error(400, exc.code, exc.detail)
    except tokens.InvalidName as exc:
        return json_error(400, "bad_field", str(exc))
    except (token_auth.TokenNameTaken, token_auth.TooManyTokens) as exc:
        return json_error(409, "conflict", str(exc))
    return _no_store(JsonResponse({"name": token.name, "token": text}, status=201))


@csrf_exempt  # checked in _session_user()
def token_detail(request, name):
    """DELETE: revoke the user's token called name (its sockets close at once)."""
    if request.method != "DELETE":
        return _not_allowed("DELETE")
    refusal = _session_user(request)
    if refusal is not None:
        return refusal
    if not token_auth.revoke(request.user, name):
        return json_error(404, "not_found", "You hold no token of that name.")
    return HttpResponse(status=204)


def _searched_room(request, name):
    """(the room called name, None) when the requester may read it, else (None, the refusal
    the messages API gives for that room: 404, 401 or 403)."""
    found = Room.objects.filter(name=name).first() if protocol.valid_room(name) else None
    if found is None:
        return None, json_error(404, "not_found", f"There is no room {name!r}.")
    try:
        services.check_access(found, request.user)
    except services.LoginRequired:
        return None, json_error(401, "auth_required", "Log in to search this room.")
    except services.NotMember:
        return None, json_error(403, "forbidden", "You are not a member of this room.")
    return found, None


def search_messages(request):
    """GET /api/search: the messages the requester may read that hold every word of q."""
    refusal = authenticate(request)
    if refusal is not None:
        return refusal
    if request.method != "GET":
        return _not_allowed("GET")
    try:
        query = search.parse(request.GET)
    except search.BadQuery as exc:
        return json_error(400, exc.code, exc.detail)
    try:
        room = None
        if query.room is not None:
            room, refusal = _searched_room(request, query.room)
            if refusal is not None:
                return refusal
        results, complete = search.search(query, request.user, room.pk if room else None)
    except OperationalError:
        return json_error(503, "unavailable", "The database did not answer.", retry_after=1.0)
    # Results may come from private rooms: kept by no cache, loaded by no other site.
    return views.private(JsonResponse({"results": results, "complete": complete}))
