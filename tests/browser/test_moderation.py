"""Moderation: a message hidden in the admin disappears from every open page, live."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_moderation__a_hidden_message_disappears_for_everyone_live(open_page):
    alice = open_page("alice", "/chat/moderated/")
    bob = open_page("bob", "/chat/moderated/")
    for page in (alice, bob):
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    for text in ("keep me", "hide me please"):
        alice.locator("#text").fill(text)
        alice.locator("#text").press("Enter")
    expect(bob.locator("#messages .body")).to_have_text(["keep me", "hide me please"])

    admin = open_page("mod", "/admin/chat/message/?q=hide+me+please")
    admin.locator('input[name="_selected_action"]').check()
    admin.locator('select[name="action"]').select_option("hide_selected")
    admin.locator('button[name="index"]').click()
    expect(admin.locator(".messagelist")).to_contain_text("1 message(s) hidden.")

    for page in (alice, bob):
        expect(page.locator("#messages .body")).to_have_text(["keep me"])
    bob.reload()
    expect(bob.locator("#messages .body")).to_have_text(["keep me"])
