"""Keyboard only: every action of today's pages with Tab, Shift+Tab, Enter, Escape and typing
(page.keyboard, never a click), each focused element visibly marked.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import HOME, PASSWORD, wait_for_js

pytestmark = pytest.mark.browser

MAX_TABS = 60
# The room page's stops, in the order Tab reaches them from the top.
ORDER = ["skip", "brand", "theme-toggle", "logout", "log", "older"]

# The focused element: a description, whether it matches, and how its focus shows.
FOCUSED = """(selector) => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const box = el.getBoundingClientRect();
  return {
    key: el.id || el.classList[0] || el.tagName.toLowerCase(),
    what: `${el.tagName.toLowerCase()}#${el.id}.${el.className} "${(el.textContent || "").trim().slice(0, 30)}"`,
    match: el !== document.body && el.matches(selector),
    visible: ring && box.width > 0 && box.height > 0,
  };
}"""


def focused(page, selector="*"):
    return page.evaluate(FOCUSED, selector)


def tab_to(page, selector, backwards=False):
    """Press Tab (Shift+Tab) until selector has the focus; every stop must show its focus.
    Returns the keys (id, else first class) of the elements passed through, in order."""
    key = "Shift+Tab" if backwards else "Tab"
    path = []
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        now = focused(page, selector)
        if now["what"].startswith("body"):
            continue  # the focus left the page (wrapping around): go on
        assert now["visible"], f"no visible focus on {now['what']} (after {path})"
        path.append(now["key"])
        if now["match"]:
            return path
    raise AssertionError(f"{selector} not reached with {key} in {MAX_TABS} presses: {path}")


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")


def test_keyboard__log_in_open_a_room_post_switch_rooms_load_older_and_log_out(open_page):
    page = open_page(None, "/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    assert focused(page, "#id_password")["match"]  # the order of the form
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(HOME)

    tab_to(page, "#id_room")  # open (create) a room by its name
    page.keyboard.type("keyboard-only")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/chat/keyboard-only/$"))
    connected(page)
    tab_to(page, "#text")
    page.keyboard.type("typed with the keyboard only")
    page.keyboard.press("Enter")
    expect(page.locator("#messages > li.mine .body")).to_have_text(["typed with the keyboard only"])
    expect(page.locator("#text")).to_be_focused()  # ready for the next one

    tab_to(page, "a.brand", backwards=True)  # back to the rooms, then another room
    page.keyboard.press("Enter")
    page.wait_for_url(HOME)
    tab_to(page, 'a.room-name[href="/chat/history/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/chat/history/$"))
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(50)
    path = tab_to(page, "#older")  # from the top of the page: a sensible order
    assert [key for key in path if key in ORDER] == ORDER, path
    page.keyboard.press("Enter")
    wait_for_js(page, "() => document.querySelectorAll('#messages > li').length >= 100")

    if page.locator("#older").is_visible():  # the last page, unless scrolling fetched it
        page.keyboard.press("Enter")
    # Without more to load the button goes: the focus stays in the log, not lost to <body>.
    expect(page.locator("#beginning")).to_be_visible()
    expect(page.locator("#log")).to_be_focused()
    tab_to(page, "#text")  # after the log comes the composer
    tab_to(page, "#logout", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert page.errors == []


def test_keyboard__skip_link_then_the_log_scrolls_with_keys_and_loads_older(open_page):
    page = open_page(None, "/chat/history/")
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(50)
    page.keyboard.press("Tab")
    assert focused(page, "a.skip")["match"]
    expect(page.locator("a.skip")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page, "main")["match"]
    tab_to(page, "#log")
    page.keyboard.press("Home")  # the focused log scrolls: its top asks for older history
    wait_for_js(page, "() => document.querySelectorAll('#messages > li').length >= 100")


def test_keyboard__members_create_a_private_room_add_and_remove_a_member(open_page):
    page = open_page("bob", "/")  # bob: the rooms tests count alice's and carol's rooms
    tab_to(page, "#new-private")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/rooms/new-private/$"))
    tab_to(page, "#id_room")
    page.keyboard.type("keyboard-club")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/chat/keyboard-club/members/$"))

    tab_to(page, "#id_username")
    page.keyboard.type("carol")
    page.keyboard.press("Enter")
    expect(page.locator("#members .member-name")).to_have_text(["carol"])
    tab_to(page, 'button[aria-label="Remove carol"]')
    page.keyboard.press("Enter")
    expect(page.locator("#members")).to_have_count(0)
    expect(page.locator("#notices")).to_be_visible()
    assert page.errors == []


def test_keyboard__escape_closes_the_online_list_and_gives_the_focus_back(open_page):
    page = open_page("alice", "/chat/history/", viewport={"width": 360, "height": 740})
    connected(page)
    toggle = page.locator("#people-toggle")
    expect(page.locator("#people")).to_be_hidden()
    tab_to(page, "#people-toggle")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#people")).to_be_visible()
    expect(page.locator("#presence .name")).to_contain_text(["alice"])
    page.keyboard.press("Escape")
    expect(page.locator("#people")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")  # and again, closed with its own button
    expect(page.locator("#people")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#people")).to_be_hidden()


def test_keyboard__theme_toggle(open_page):
    page = open_page(None, "/", color_scheme="light")
    button = page.locator("#theme-toggle")
    expect(button).to_have_attribute("aria-pressed", "false")
    tab_to(page, "#theme-toggle")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("document.documentElement.dataset.theme") is None  # the system's again


# the event log: edit, reply, react, delete, mention, with the keyboard only ------------------


def to_message(page, text):
    """From the composer, back into the log, then Up through the messages to the one with
    text; every step shows its focus."""
    tab_to(page, "#log", backwards=True)
    for _ in range(MAX_TABS):
        page.keyboard.press("ArrowUp")
        now = focused(page, "#messages > li")
        assert now["match"] and now["visible"], now
        if page.evaluate("() => document.activeElement.querySelector('.body').textContent") == text:
            return
    raise AssertionError(f"no message {text!r} reached with ArrowUp")


def test_keyboard__edit_with_up_reply_react_and_delete(open_page):
    path = f"/chat/keys-{uuid.uuid4().hex[:8]}/"
    bob = open_page("bob", path)
    connected(bob)
    bob.locator("#text").fill("can someone review?")
    bob.locator("#text").press("Enter")
    page = open_page("alice", path)
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(1)

    tab_to(page, "#text")  # edit: Up in the empty composer, Enter saves
    page.keyboard.type("on it soon")
    page.keyboard.press("Enter")
    expect(page.locator("#messages > li.mine .body")).to_have_text(["on it soon"])
    page.keyboard.press("ArrowUp")
    assert focused(page, ".editor textarea")["visible"]
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("on it now")
    page.keyboard.press("Enter")
    expect(page.locator("#text")).to_be_focused()
    expect(bob.locator("#messages .body")).to_have_text(["can someone review?", "on it now"])
    expect(bob.locator("#messages .edited")).to_have_text(["(edited)"])

    to_message(page, "can someone review?")  # reply: the message's first action
    tab_to(page, 'button[data-action="reply"]')
    page.keyboard.press("Enter")
    expect(page.locator("#replying")).to_be_visible()
    expect(page.locator("#text")).to_be_focused()
    page.keyboard.type("me!")
    page.keyboard.press("Enter")
    expect(bob.locator("#messages .quote")).to_have_text(["In reply to you: can someone review?"])

    to_message(page, "can someone review?")  # react: the picker, Escape closes it
    tab_to(page, 'button[data-action="react"]')
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="React with")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    assert focused(page, 'button[data-action="react"]')["match"]  # back where it was
    page.keyboard.press("Enter")
    assert focused(page, ".emoji-choice")["visible"]
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the second frequent emoji
    expect(bob.locator("#messages .reaction")).to_have_text(["❤️1"])
    tab_to(page, ".reaction", backwards=True)  # the reaction itself toggles mine off
    page.keyboard.press("Enter")
    expect(bob.locator("#messages .reaction")).to_have_count(0)

    to_message(page, "on it now")  # delete: a dialog, Escape keeps the message
    tab_to(page, 'button[data-action="delete"]')
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete this message?")
    expect(dialog).to_be_visible()
    assert focused(page, "#confirm-delete-cancel")["visible"]
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page, 'button[data-action="delete"]')["match"]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page, "#confirm-delete-ok")["visible"]
    page.keyboard.press("Enter")
    expect(bob.locator("#messages .body")).to_have_text(
        ["can someone review?", "Message deleted", "me!"]
    )
    assert focused(page, "#messages > li")["match"]  # the focus stays on the deleted message
    assert page.errors == []


def test_keyboard__mention_completion_with_arrows_enter_tab_and_escape(open_page):
    path = f"/chat/keys-{uuid.uuid4().hex[:8]}/"
    for user in ("bob", "carol"):
        other = open_page(user, path)
        connected(other)
        other.locator("#text").fill(f"{user} was here")
        other.locator("#text").press("Enter")
        expect(other.locator("#messages > li.mine")).to_have_count(1)
    page = open_page("alice", path)
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(2)
    tab_to(page, "#text")
    page.keyboard.type("hi @")
    options = page.get_by_role("option")
    expect(options).to_have_text(["@bob", "@carol"])
    expect(page.locator("#text")).to_have_attribute("aria-activedescendant", "mention-list-0")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")  # inserts the chosen name, the focus stays
    expect(page.locator("#text")).to_have_value("hi @carol ")
    expect(page.locator("#text")).to_be_focused()
    page.keyboard.type("and @b")
    expect(options).to_have_text(["@bob"])
    page.keyboard.press("Escape")  # closes the list, keeps the text
    expect(options).to_have_count(0)
    expect(page.locator("#text")).to_have_value("hi @carol and @b")
    page.keyboard.type("o")
    page.keyboard.press("Enter")
    expect(page.locator("#text")).to_have_value("hi @carol and @bob ")
    page.keyboard.press("Enter")
    expect(page.locator("#messages .mention")).to_have_text(["@carol", "@bob"])
    assert page.errors == []


# version 2's pages: the sidebar of followed rooms, direct rooms -------------------------------


def test_keyboard__switch_rooms_in_the_sidebar(open_page):
    page = open_page("alice", "/chat/history/")
    connected(page)
    expect(page.locator("#sidebar")).to_have_attribute("data-connection", "connected")
    current = page.locator('#sidebar a[href="/chat/history/"]')
    expect(current).to_have_attribute("aria-current", "page")
    path = tab_to(page, '#sidebar a[href="/chat/team-secret/"]')  # a member: always followed
    assert path.index("logout") < len(path) - 1 and "log" not in path, path  # before the log
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/chat/team-secret/$"))
    connected(page)
    expect(page.locator('#sidebar a[href="/chat/team-secret/"]')).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator('#sidebar a[href="/chat/history/"]')).not_to_have_attribute(
        "aria-current", "page"
    )
    assert page.errors == []


def test_keyboard__open_a_direct_room_from_an_authors_name(open_page):
    path = f"/chat/keys-{uuid.uuid4().hex[:8]}/"
    mod = open_page("mod", path)  # bob and mod: the rooms tests count alice's and carol's
    connected(mod)
    mod.locator("#text").fill("ask me anything")
    mod.locator("#text").press("Enter")
    page = open_page("bob", path)
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(1)
    tab_to(page, "#text")
    to_message(page, "ask me anything")
    tab_to(page, "button.author")  # the message's first control: its author's name
    assert focused(page, "button.author")["visible"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/chat/dm-\d+-\d+/$"))
    connected(page)
    expect(page.locator("#room-title")).to_have_text("mod")
    expect(page.locator("#direct-badge")).to_have_text("direct")
    assert page.errors == []


def test_keyboard__the_sidebar_at_phone_width_behind_its_toggle(open_page):
    page = open_page("alice", "/chat/history/", viewport={"width": 360, "height": 740})
    connected(page)
    toggle = page.locator("#sidebar-toggle")
    expect(page.locator("#sidebar")).to_be_hidden()
    tab_to(page, "#sidebar-toggle")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#sidebar")).to_be_visible()
    tab_to(page, "#sidebar a.side-link")
    page.keyboard.press("Escape")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(toggle).to_be_focused()
    assert page.errors == []
