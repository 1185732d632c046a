"""The admin: rooms, memberships, messages, and moderation (hide a message for everyone, live)."""

import logging

from django.contrib import admin, messages
from django.db import transaction
from redis.exceptions import RedisError

from .broadcast import publish_ephemeral
from .limits.login import LimitedAdminAuthenticationForm
from .models import Membership, Message, Room

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


# The admin's log-in page counts attempts like /accounts/login/ does.
admin.site.login_form = LimitedAdminAuthenticationForm
