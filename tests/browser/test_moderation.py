"""Moderation: a message deleted in the admin shows as deleted on every open page, live, and
after a reload or a reconnect (the deletion is an event of the room's log)."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_moderation__a_message_deleted_in_the_admin_is_deleted_for_everyone_live(open_page):
    alice = open_page("alice", "/chat/moderated/")
    bob = open_page("bob", "/chat/moderated/")
    away = open_page("carol", "/chat/moderated/")
    for page in (alice, bob, away):
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    for text in ("keep me", "delete me please"):
        alice.locator("#text").fill(text)
        alice.locator("#text").press("Enter")
    for page in (bob, away):
        expect(page.locator("#messages .body")).to_have_text(["keep me", "delete me please"])
    away.context.set_offline(True)  # carol is away while it happens: her socket breaks
    away.evaluate("window.chatConnection._abandon(window.chatConnection.socket)")

    admin = open_page("mod", "/admin/chat/message/?q=delete+me+please")
    admin.locator('input[name="_selected_action"]').check()
    admin.locator('select[name="action"]').select_option("delete_for_everyone")
    admin.locator('button[name="index"]').click()
    expect(admin.locator(".messagelist")).to_contain_text("1 message(s) deleted.")

    for page in (alice, bob):
        expect(page.locator("#messages .body")).to_have_text(["keep me", "Message deleted"])
        expect(page.locator("#messages > li").last).to_have_class(re.compile(r"\bdeleted\b"))
        expect(page.locator("#announcer p").last).to_have_text(
            "A moderator deleted your message." if page is alice
            else "A moderator deleted a message by alice."
        )  # fmt: skip
    away.context.set_offline(False)  # back: the reconnect resumes and applies the deletion
    away.evaluate("window.chatConnection.retryNow()")
    expect(away.locator("#status")).to_have_attribute("data-state", "connected")
    expect(away.locator("#messages .body")).to_have_text(["keep me", "Message deleted"])
    bob.reload()
    expect(bob.locator("#messages .body")).to_have_text(["keep me", "Message deleted"])
    expect(bob.locator("#messages > li").last.locator(".author")).to_have_text("alice")
    assert alice.errors == [] and bob.errors == [] and away.errors == []
