"""The admin: rooms, memberships, messages, and moderation (hide a message for everyone, live);
API tokens (created and shown once, revoked) and the users' bot flag."""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.template.response import TemplateResponse
from redis.exceptions import RedisError

from . import token_auth, tokens
from .broadcast import publish_ephemeral
from .limits.login import LimitedAdminAuthenticationForm
from .models import ApiToken, ChatProfile, Membership, Message, Room

log = logging.getLogger("chat.admin")


def publish_hidden(room_name, seqs):
    """Tell every connection in room_name that seqs are hidden (a `hidden` event per seq).

    Returns False when Redis did not answer: the messages stay hidden in the database,
    so history, resume and the API leave them out; only open pages keep showing them.
    """
    try:
        for seq in seqs:
            publish_ephemeral(room_name, {"type": "hidden", "room": room_name, "seq": seq})
    except (RedisError, OSError) as exc:
        log.warning("event=hide_publish_failed room=%s error=%r", room_name, exc)
        return False
    return True


def hide_messages(queryset):
    """Hide the messages of queryset; after the commit, tell their rooms. Returns the count."""
    by_room = {}
    for room_name, seq in queryset.filter(hidden=False).values_list("room__name", "seq"):
        by_room.setdefault(room_name, []).append(seq)
    hidden = queryset.filter(hidden=False).update(hidden=True)
    results = []

    def publish():
        results.extend(publish_hidden(room, seqs) for room, seqs in by_room.items())

    transaction.on_commit(publish)
    return hidden, results


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "is_private", "owner", "last_seq", "last_activity"]
    list_filter = ["is_private"]
    search_fields = ["name"]
    readonly_fields = ["last_seq", "created", "last_activity"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["room", "user", "created"]
    list_filter = ["room__is_private"]
    search_fields = ["room__name", "user__username"]
    autocomplete_fields = ["room", "user"]
    list_select_related = ["room", "user"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "seq", "user", "short_text", "created", "hidden"]
    list_filter = ["hidden", "created", "room__is_private"]
    search_fields = ["text", "user__username", "room__name"]
    readonly_fields = ["room", "seq", "user", "text", "client_id", "created"]
    list_select_related = ["room", "user"]
    date_hierarchy = "created"
    actions = ["hide_selected", "unhide_selected"]

    @admin.display(description="text")
    def short_text(self, message):
        return message.text[:80]

    def has_add_permission(self, request):
        return False  # messages are posted through the chat, with their seq

    @admin.action(description="Hide the selected messages for everyone (live)")
    def hide_selected(self, request, queryset):
        with transaction.atomic():
            count, results = hide_messages(queryset)
        if results and not all(results):
            self.message_user(
                request,
                f"{count} message(s) hidden. Redis did not answer, so open pages keep showing "
                "them until they reload.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"{count} message(s) hidden.", messages.SUCCESS)

    @admin.action(description="Show the selected messages again")
    def unhide_selected(self, request, queryset):
        count = queryset.filter(hidden=True).update(hidden=False)
        self.message_user(
            request,
            f"{count} message(s) shown again (pages show them after a reload).",
            messages.SUCCESS,
        )

    def save_model(self, request, obj, form, change):
        """Ticking "hidden" on a message's page hides it live too."""
        newly_hidden = change and "hidden" in form.changed_data and obj.hidden
        super().save_model(request, obj, form, change)
        if newly_hidden:
            room_name, seq = obj.room.name, obj.seq
            transaction.on_commit(lambda: publish_hidden(room_name, [seq]))


class ApiTokenAddForm(forms.ModelForm):
    """Staff create a token for a user; its text is shown once, on the page after saving."""

    class Meta:
        model = ApiToken
        fields = ["user", "name"]

    def clean_name(self):
        try:
            return tokens.clean_name(self.cleaned_data.get("name"))
        except tokens.InvalidName as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if user is not None and ApiToken.objects.filter(user=user).count() >= token_auth.MAX_TOKENS:
            raise forms.ValidationError(f"{user} holds {token_auth.MAX_TOKENS} tokens already.")
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Deleting a token (one, or the "Delete selected" action) revokes it: its sockets close."""

    list_display = ["name", "user", "key_id", "created", "last_used"]
    search_fields = ["name", "user__username", "key_id"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["user", "name", "key_id", "created", "last_used"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # a token is not edited

    def save_model(self, request, obj, form, change):
        text, obj.key_id, obj.digest = tokens.new_token()
        super().save_model(request, obj, form, change)
        request._chat_new_token = text

    def response_add(self, request, obj, post_url_continue=None):
        """The token's text, this once (rendered, never stored or redirected with)."""
        context = {
            **self.admin_site.each_context(request),
            "title": f"API token “{obj.name}” for {obj.user}",
            "token": obj,
            "text": request._chat_new_token,
            "opts": self.opts,
        }
        response = TemplateResponse(request, "admin/chat/apitoken/created.html", context)
        response.headers["Cache-Control"] = "no-store, private"
        return response


class ChatProfileInline(admin.StackedInline):
    model = ChatProfile
    can_delete = False
    verbose_name_plural = "chat"
    fields = ["rate_exempt"]


class ChatUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ChatProfileInline]


if admin.site.is_registered(get_user_model()):
    admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ChatUserAdmin)

# The admin's log-in page counts attempts like /accounts/login/ does.
admin.site.login_form = LimitedAdminAuthenticationForm
