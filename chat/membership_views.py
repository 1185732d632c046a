"""Pages for private rooms: create one, and (its owner only) add and remove its members."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse

from . import membership, protocol
from .forms import RoomNameField
from .models import Room, room_name_validator
from .views import content_security_policy, private

__all__ = ["new_private_room", "room_members"]


class PrivateRoomForm(forms.Form):
    room = RoomNameField(
        label="Room name",
        max_length=64,
        validators=[room_name_validator],
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )


class MemberForm(forms.Form):
    action = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")])
    username = forms.CharField(
        label="User name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )


@content_security_policy
@login_required
def new_private_room(request):
    """Create a private room owned by the user, then manage its members."""
    form = PrivateRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            room = membership.create_private_room(request.user, form.cleaned_data["room"])
        except membership.MembershipError as exc:
            form.add_error("room", str(exc))
        else:
            return redirect("room-members", room=room.name)
    status = 400 if form.errors else 200
    return render(request, "chat/members_new.html", {"form": form}, status=status)


@content_security_policy
@login_required
def room_members(request, room):
    """The members of a private room: listed, added and removed by its owner only."""
    found = Room.objects.filter(name=room).first() if protocol.valid_room(room) else None
    if found is None:
        return render(request, "chat/bad_room.html", {"room": room}, status=404)
    if not membership.is_owner(found, request.user):
        return render(request, "chat/members_forbidden.html", {"room_name": room}, status=403)
    form = MemberForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                _change(request, found, form.cleaned_data["action"], form.cleaned_data["username"])
            except membership.MembershipError as exc:
                messages.error(request, str(exc))
            # Post/redirect/get: a reload does not repeat the change.
            return HttpResponseRedirect(reverse("room-members", args=[found.name]), status=303)
        messages.error(request, "Type a user name.")
        return HttpResponseRedirect(reverse("room-members", args=[found.name]), status=303)
    context = {
        "room": found,
        "members": membership.member_names(found),
        "form": MemberForm(initial={"action": "add"}),
    }
    return private(render(request, "chat/members.html", context))


def _change(request, room, action, username):
    if action == "add":
        if membership.add_member(room, request.user, username):
            messages.success(request, f"{username} is now a member of #{room.name}.")
        else:
            messages.info(request, f"{username} was already a member.")
    elif membership.remove_member(room, request.user, username):
        messages.success(request, f"{username} was removed from #{room.name}.")
    else:
        messages.info(request, f"{username} was not a member.")
