"""Who a JSON API request acts as: an API token (`Authorization: Bearer`), or the session.

A bearer request is the token's user, without a session and without CSRF: a browser never
sends that header by itself, so another site cannot make it. A session request keeps
Django's CSRF rule for unsafe methods (the `X-CSRFToken` header), checked here because the
API views are exempt from the middleware's own check (which would answer with a page, not
JSON, and before telling an anonymous client to log in).
"""

import math

from django.db import DatabaseError
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from . import token_auth, tokens

__all__ = ["json_error", "authenticate", "csrf_refusal"]


def json_error(status, code, detail, retry_after=None):
    """`{"error": code, "detail": detail}` with status (and Retry-After, in whole seconds)."""
    body = {"error": code, "detail": detail}
    if retry_after is not None:
        body["retry_after"] = retry_after
    response = JsonResponse(body, status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chat"'
    return response


def authenticate(request):
    """Set request.user from a bearer token when the request carries one; None when the
    request may go on, else the response to answer (401 for a bad token, 503 when the
    database does not answer)."""
    credentials = tokens.bearer(request.headers.get("Authorization"))
    request.chat_token = None
    if credentials is None:
        return None  # the session (or anonymous) as the middleware found it
    try:
        token = token_auth.authenticate(credentials)
    except DatabaseError:
        return json_error(503, "unavailable", "The database did not answer.", retry_after=1.0)
    if token is None:
        return json_error(
            401, "auth_required", "The API token is not valid: mistyped, revoked, or its user "
            "is inactive.",
        )  # fmt: skip
    request.user = token.user
    request.chat_token = token
    return None


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason  # the reason, to answer in JSON


def csrf_refusal(request):
    """None when a session request passes Django's CSRF check (or is a bearer request,
    or is safe), else the JSON 403 to answer."""
    if getattr(request, "chat_token", None) is not None:
        return None
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason is None:
        return None
    return json_error(
        403, "forbidden", f"CSRF check failed ({reason}): send the csrftoken cookie's value in "
        "the X-CSRFToken header, or use an API token.",
    )  # fmt: skip
