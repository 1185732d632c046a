"""The rooms page: online counts that follow pages, the user's own rooms, opening a room."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import screenshot

pytestmark = pytest.mark.browser


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    return page


def test_rooms_page__online_counts_change_when_pages_open_and_close(open_page):
    carol = connected(open_page("carol", "/chat/counted/"))  # a user's visit creates it
    carol.close()
    guest = connected(open_page(None, "/chat/counted/"))  # anonymous readers create nothing
    rooms = open_page("alice", "/")
    count = rooms.locator('.room-row[data-room="counted"] .online')
    expect(count).to_have_text("1 online")
    bob = connected(open_page("bob", "/chat/counted/"))
    expect(count).to_have_text("2 online", timeout=15_000)  # the page polls every 5 s
    screenshot(rooms, "rooms.png")
    guest.close()
    bob.close()
    expect(count).to_have_text("0 online", timeout=15_000)
    rooms.reload()
    expect(count).to_have_text("0 online")


def test_rooms_page__lists_the_users_rooms_private_ones_included(open_page):
    alice = open_page("alice", "/")
    expect(alice.locator("#my-rooms .room-row")).to_have_count(1)
    expect(alice.locator('#my-rooms .room-row[data-room="team-secret"] .badge')).to_have_text(
        "private"
    )
    expect(alice.locator('#public-rooms .room-row[data-room="team-secret"]')).to_have_count(0)
    expect(alice.locator('#public-rooms .room-row[data-room="history"] .activity')).to_contain_text(
        "active"
    )
    carol = open_page("carol", "/")
    expect(carol.get_by_text("You are not a member of any room yet.")).to_be_visible()
    guest = open_page(None, "/")
    expect(guest.locator("#my-rooms")).to_have_count(0)


def test_rooms_page__private_room_is_closed_to_guests_and_non_members(open_page):
    guest = open_page(None, "/chat/team-secret/")
    expect(guest).to_have_url(re.compile(r"/accounts/login/\?next=/chat/team-secret/$"))
    # A non-member gets the page any free name gets; the socket's 4403 then says why.
    carol = open_page("carol", "/chat/team-secret/")
    expect(carol.get_by_text("This room is private and you are not a member.")).to_be_visible()
    alice = connected(open_page("alice", "/chat/team-secret/"))
    expect(alice.locator("#composer")).to_be_visible()


def test_rooms_page__open_a_room_by_name_with_a_clear_message_when_invalid(open_page):
    page = open_page("alice", "/")
    field = page.get_by_label("Open or create a room")
    field.fill("no spaces allowed!")
    field.press("Enter")
    expect(page.locator("#room-error")).to_contain_text("lowercase letters, digits")
    expect(field).to_have_value("no spaces allowed!")
    page.get_by_label("Open or create a room").fill("  Fresh-Room ")
    page.get_by_role("button", name="Open").click()
    expect(page).to_have_url(re.compile(r"/chat/fresh-room/$"))
    connected(page)
    expect(page.locator("#beginning")).to_be_visible()
