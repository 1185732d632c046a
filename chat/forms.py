"""Forms of the pages: opening a room, signing up."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import room_name_validator
from .usernames import validate_new_username


class RoomNameField(forms.CharField):
    """A room name as the contract allows it; typed capitals are lowered, spaces trimmed."""

    def to_python(self, value):
        return super().to_python(value).strip().lower()


class OpenRoomForm(forms.Form):
    room = RoomNameField(
        label="Room name",
        max_length=64,
        validators=[room_name_validator],
        error_messages={"required": "Type a room name, for example “lobby”."},
        widget=forms.TextInput(
            attrs={
                "placeholder": "lobby",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "aria-describedby": "room-hint",
            }
        ),
    )


class SignupForm(UserCreationForm):
    """Django's own sign-up form (user name, password twice, the password validators); the
    user name NFKC-normalized (Django's UsernameField), and refused when it mixes scripts
    or looks like an existing user's (chat.usernames)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocapitalize="none", autocomplete="username")

    def clean_username(self):
        username = super().clean_username()  # NFKC-normalized; None when taken in any case
        if username:
            validate_new_username(username)
        return username
