"""POST /dm/<username>/: open (make on first use) the direct room with username."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import direct
from .views import content_security_policy

__all__ = ["open_direct"]


@content_security_policy
@login_required
@require_POST
def open_direct(request, username):
    """302 to the direct room of the user and username; 404 for an unknown or inactive
    user, 400 for oneself (CSRF-protected like every form)."""
    try:
        room, _ = direct.open_direct(request.user, username)
    except direct.NoSuchUser as exc:
        return render(request, "chat/direct_refused.html", {"reason": str(exc)}, status=404)
    except direct.DirectError as exc:
        return render(request, "chat/direct_refused.html", {"reason": str(exc)}, status=400)
    return redirect("room", room=room.name)
