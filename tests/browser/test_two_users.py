"""Two people in one room: messages, presence and typing, as each of them sees it."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import messages_in, screenshot

pytestmark = pytest.mark.browser


def test_two_users__see_each_others_messages_presence_and_typing(open_page):
    alice = open_page("alice", "/chat/duo/")
    expect(alice.locator("#status")).to_have_attribute("data-state", "connected")
    bob = open_page("bob", "/chat/duo/")
    expect(bob.locator("#status")).to_have_attribute("data-state", "connected")

    for page in (alice, bob):
        expect(page.locator("#presence .name")).to_have_text(["alice", "bob"])
    expect(alice.locator("#presence .me .name")).to_have_text("alice")
    expect(bob.locator("#presence .me .name")).to_have_text("bob")

    bob.locator("#text").press_sequentially("hel")
    expect(alice.locator("#typing")).to_have_text("bob is typing…")
    expect(bob.locator("#typing")).to_have_text("")

    bob.locator("#text").fill("hello alice")
    bob.locator("#text").press("Enter")
    alice.locator("#text").fill("hi bob")
    alice.locator("#text").press("Shift+Enter")
    alice.locator("#text").press_sequentially("how are you?")
    expect(alice.locator("#counter")).to_have_text("19 / 4000")
    alice.locator("#text").press("Enter")

    for page in (alice, bob):
        expect(page.locator("#messages > li .body")).to_have_text(
            ["hello alice", "hi bob\nhow are you?"]
        )
        expect(page.locator("#outbox > li")).to_have_count(0)
    assert [m[1] for m in messages_in(alice)] == ["bob", "alice"]
    expect(alice.locator("#messages > li.mine .body")).to_have_text(["hi bob\nhow are you?"])
    expect(bob.locator("#messages > li.mine .body")).to_have_text(["hello alice"])
    expect(alice.locator("#typing")).to_have_text("")  # bob's message ends his typing notice
    screenshot(alice, "room.png")

    phone = open_page("carol", "/chat/duo/", viewport={"width": 390, "height": 740}, is_mobile=True)
    expect(phone.locator("#messages .body")).to_have_count(2)
    expect(phone.locator("#presence .name")).to_have_text(["alice", "bob", "carol"])
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "room-phone.png")
    phone.close()

    bob.close()
    expect(alice.locator("#presence .name")).to_have_text(["alice"])
    expect(alice.locator("#presence-summary")).to_have_text("1 online")
    assert alice.errors == []
