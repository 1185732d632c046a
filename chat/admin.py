"""The admin: rooms, memberships, messages, and moderation (delete a message for everyone: an
event of the room's log, live);
API tokens (created and shown once, revoked) and the users' bot flag."""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from redis.exceptions import RedisError

from . import protocol, services, store, token_auth, tokens
from .broadcast import publish_stored
from .limits.login import LimitedAdminAuthenticationForm
from .models import ApiToken, ChatProfile, Membership, Message, Room

log = logging.getLogger("chat.admin")


def delete_messages(queryset, moderator):
    """Delete the messages of queryset that are not deleted yet, as moderator: a `delete`
    event of each room's log (its next seq), so that open pages apply it live and a client
    that was away learns it by resuming. Returns (how many, whether every publish went out).

    When Redis does not answer the deletions are stored all the same; open pages learn them
    at their next event's gap or their reconnect."""
    by_room = {}
    for room_id, seq in queryset.filter(deleted=False).values_list("room_id", "seq"):
        by_room.setdefault(room_id, []).append(seq)
    count, published = 0, True
    for room_id, seqs in by_room.items():
        changes = [
            store.Change("delete", moderator.pk, moderator.get_username(), seq, moderator=True)
            for seq in sorted(seqs)
        ]
        for result in services.post_messages(room_id, changes):
            if result.error is None and result.created_now:
                count += 1
                published = _publish(result) and published
    return count, published


def _publish(result):
    try:
        publish_stored(result.room, result.seq, protocol.encode(result.frame))
    except (RedisError, OSError) as exc:
        log.warning("event=delete_publish_failed room=%s error=%r", result.room, exc)
        return False
    return True


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
    list_display = ["room", "seq", "user", "short_text", "created", "edited", "deleted"]
    list_filter = ["deleted", "created", "room__is_private"]
    search_fields = ["text", "user__username", "room__name"]
    readonly_fields = [
        "room", "seq", "user", "text", "client_id", "created", "reply_to", "mentions",
        "edited", "deleted",
    ]  # fmt: skip
    list_select_related = ["room", "user"]
    date_hierarchy = "created"
    actions = ["delete_for_everyone"]

    @admin.display(description="text")
    def short_text(self, message):
        return message.text[:80]

    def has_add_permission(self, request):
        return False  # messages are posted through the chat, with their seq

    def has_delete_permission(self, request, obj=None):
        return False  # a message leaves the log only as a deletion event (the action)

    @admin.action(description="Delete the selected messages for everyone (live)")
    def delete_for_everyone(self, request, queryset):
        count, published = delete_messages(queryset, request.user)
        if not published:
            self.message_user(
                request,
                f"{count} message(s) deleted. Redis did not answer, so open pages learn it "
                "at their next message or reconnect.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"{count} message(s) deleted.", messages.SUCCESS)


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
