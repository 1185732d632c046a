from django import forms

from .models import room_name_validator


class OpenRoomForm(forms.Form):
    room = forms.CharField(
        label="Room name",
        max_length=64,
        validators=[room_name_validator],
        widget=forms.TextInput(attrs={"placeholder": "lobby", "autocomplete": "off"}),
    )

    def clean_room(self):
        return self.cleaned_data["room"].strip()
