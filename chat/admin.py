from django.contrib import admin

from .models import Membership, Message, Room


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
    search_fields = ["room__name", "user__username"]
    autocomplete_fields = ["room", "user"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "seq", "user", "short_text", "created", "hidden"]
    list_filter = ["hidden", "room"]
    search_fields = ["text", "user__username", "room__name"]
    readonly_fields = ["room", "seq", "user", "text", "client_id", "created"]

    @admin.display(description="text")
    def short_text(self, message):
        return message.text[:80]
