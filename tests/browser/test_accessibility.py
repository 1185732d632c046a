"""The accessibility audit: axe-core over every page and state, at desktop and phone widths,
in the light and the dark scheme; and what a screen reader hears from a room.

A new page or state is one line of STATES: a name, who looks (None: a guest), the path, and
optionally what to do before the audit (a function of the page).
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import SCREENS, Screen, audit, describe, phone_problems, violations
from tests.browser.helpers import screenshot

pytestmark = pytest.mark.browser


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")


def with_history(page):
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(50)


def people_open(page):
    with_history(page)
    page.set_viewport_size({"width": 360, "height": 740})
    page.locator("#people-toggle").click()
    expect(page.locator("#people")).to_be_visible()


def offline(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "offline")


def wrong_password(page):
    page.get_by_label("Username").fill("nobody-at-all")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def invalid_room_name(page):
    page.get_by_label("Open or create a room").fill("no spaces!")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#room-error")).to_be_visible()


def invalid_private_room(page):
    page.get_by_label("Room name").fill("Not Valid!")
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".field.invalid .error")).to_be_visible()


def token_created(page):
    # A name of its own per screen (4 screens audit this state; names are unique per user).
    page.get_by_label("Token name").fill(f"audit-{uuid.uuid4().hex[:12]}")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("Your new token")).to_be_visible()
    expect(page.locator("#tokens")).to_be_visible()


LOG_ROOM = "/chat/a11y-log/"


def with_changes(page):
    """A room whose messages show the event log: an edit, a reaction, a reply, a mention, a
    deletion (seeded once; later states and screens find them)."""
    connected(page)
    page.wait_for_timeout(300)  # hello's history, when the room has some
    if page.locator("#messages > li").count() == 0:
        composer = page.locator("#text")
        for text in ("Hello @bob, notes at https://example.org/notes", "a typo hree", "gone soon"):
            composer.fill(text)
            composer.press("Enter")
        expect(page.locator("#messages > li:not(.pending)")).to_have_count(3)
        seqs = page.eval_on_selector_all(
            "#messages > li", "items => items.map(li => Number(li.dataset.seq))"
        )
        page.evaluate(
            """([first, second, third]) => { const c = window.chatConnection;
                 c.edit(second, "a typo here"); c.react(first, "👍", true); c.react(first, "🎉", true);
                 c.remove(third); c.send("An answer to the first one", first); }""",
            seqs,
        )
    expect(page.locator("#messages .edited")).to_have_count(1)
    expect(page.locator("#messages .reaction")).to_have_count(2)
    expect(page.locator("#messages .quote")).to_have_count(1)
    expect(page.locator("#messages .deleted")).to_have_count(1)


def picker_open(page):
    with_changes(page)
    first = page.locator("#messages > li").first
    first.hover()
    first.get_by_role("button", name="React to your message").click()
    expect(page.get_by_role("dialog", name="React with")).to_be_visible()


def edit_in_progress(page):
    with_changes(page)
    page.locator("#text").focus()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("textbox", name="Edit your message")).to_be_focused()


def replying_with_mentions(page):
    with_changes(page)
    first = page.locator("#messages > li").first
    first.hover()
    first.get_by_role("button", name="Reply to your message").click()
    expect(page.locator("#replying")).to_be_visible()
    page.locator("#text").press_sequentially("thanks @b")
    expect(page.get_by_role("listbox", name="People to mention")).to_be_visible()
    expect(page.get_by_role("option")).to_have_text(["@bob"])


def delete_confirmation(page):
    with_changes(page)
    first = page.locator("#messages > li").first
    first.hover()
    first.get_by_role("button", name="Delete your message").click()
    expect(page.get_by_role("dialog", name="Delete this message?")).to_be_visible()


def sidebar_open(page):
    expect(page.locator("#sidebar")).to_have_attribute("data-connection", "connected")
    expect(page.locator("#sidebar-rooms .side-room").first).to_be_attached()
    page.set_viewport_size({"width": 360, "height": 740})
    page.locator("#sidebar-toggle").click()
    expect(page.locator("#sidebar")).to_be_visible()


def direct_room(page):
    """bob's direct room with mod (the rooms tests count alice's and carol's rooms)."""
    connected(page)
    page.evaluate("window.ChatDirect.open('mod')")
    page.wait_for_url(re.compile(r"/chat/dm-\d+-\d+/$"))
    connected(page)
    expect(page.locator("#room-title")).to_have_text("mod")
    expect(page.locator("#direct-badge")).to_have_text("direct")


@dataclass(frozen=True)
class State:
    name: str
    user: str | None
    path: str
    ready: Callable | None = None


STATES = [
    State("login", None, "/accounts/login/"),
    State("login with an error", None, "/accounts/login/", wrong_password),
    State("sign-up", None, "/accounts/signup/"),
    State("rooms", "alice", "/"),
    State("rooms as a guest", None, "/"),
    State("rooms with an invalid name", "alice", "/", invalid_room_name),
    State("room with history", "alice", "/chat/history/", with_history),
    State("room as a guest", None, "/chat/history/", with_history),
    State("room with the online list open", "alice", "/chat/history/", people_open),
    State("rooms with the sidebar open", "alice", "/", sidebar_open),
    State("a direct room", "bob", "/chat/history/", direct_room),
    State("room with edits, reactions, replies", "alice", LOG_ROOM, with_changes),
    State("room where the reader is mentioned", "bob", LOG_ROOM, with_changes),
    State("room with the reaction picker open", "alice", LOG_ROOM, picker_open),
    State("edit in progress", "alice", LOG_ROOM, edit_in_progress),
    State("delete confirmation", "alice", LOG_ROOM, delete_confirmation),
    State("replying, mention list open", "alice", LOG_ROOM, replying_with_mentions),
    State("room refused (not a member)", "carol", "/chat/team-secret/", offline),
    State("members", "bob", "/chat/team-secret/members/"),
    State("members forbidden (403)", "alice", "/chat/team-secret/members/"),
    State("new private room", "alice", "/rooms/new-private/"),
    State("new private room, invalid", "alice", "/rooms/new-private/", invalid_private_room),
    State("API tokens", "carol", "/account/tokens/"),
    State("API tokens, one just created", "carol", "/account/tokens/", token_created),
    State("page not found (404)", None, "/no/such/page/"),
    State("bad room name (404)", None, "/chat/Not-A-Name!/"),
]


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_audit__no_serious_violation_on_any_screen_and_fit_for_a_phone(
    open_page, chat_server, state
):
    page = open_page(state.user, state.path)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    if state.ready:
        state.ready(page)
    found = audit(page)
    assert not found, f"{state.name} ({state.path}):\n{describe(found)}"
    problems = phone_problems(page)
    assert not problems, f"{state.name} ({state.path}) at 360 px:\n" + "\n".join(problems)
    assert page.errors == []
    # axe comes inside the package: the audit fetched nothing but the chat's own pages.
    assert all(url.startswith(chat_server.url) for url in requests), requests


BROKEN = """<!doctype html><html lang="en"><head><title>broken</title></head><body><main>
<h1>Broken on purpose</h1>
<ol role="log"><li>a list item outside a list</li></ol>
<p style="color:#999;background:#fff">grey on white</p>
<button></button>
</main></body></html>"""


def test_audit__reports_what_it_must_fail_on_readably(blank_page):
    blank_page.set_content(BROKEN)
    found = {s.name: violations(blank_page) for s in SCREENS[:1]}
    ids = {v["id"] for v in found["desktop light"]}
    assert {"listitem", "color-contrast", "button-name"} <= ids
    report = describe(found)
    assert "[desktop light] listitem (serious)" in report
    assert "<li>a list item outside a list</li>" in report

    blank_page.set_content(
        '<main><button style="padding:0">x</button><div style="width:600px">wide</div></main>'
    )
    problems = phone_problems(blank_page)
    assert any("wide on a 360 px screen" in p for p in problems), problems
    assert any(p.startswith('button "x" is ') for p in problems), problems


def test_audit__dark_theme_chosen_on_a_light_system_is_audited_too(open_page):
    page = open_page("alice", "/chat/history/")
    with_history(page)
    light = Screen("desktop light", 1280, 800, "light")
    light.apply(page)
    page.locator("#theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    found = {"desktop light system, dark chosen": violations(page)}
    assert not found["desktop light system, dark chosen"], describe(found)
    page.evaluate("localStorage.removeItem('chat-theme')")


# screen readers ---------------------------------------------------------------------------

ANNOUNCED = "Array.from(document.querySelectorAll('#announcer > *'), p => p.textContent)"


def test_screen_reader__new_messages_announced_politely_history_never(open_page):
    reader = open_page("alice", "/chat/history/")
    with_history(reader)
    announcer = reader.locator("#announcer")
    expect(announcer).to_have_attribute("role", "log")
    expect(announcer).to_have_attribute("aria-live", "polite")
    # The visible messages are a plain list, not a live region: history is never read out.
    assert reader.evaluate("document.getElementById('messages').getAttribute('role')") is None
    assert reader.evaluate("document.getElementById('messages').closest('[aria-live]')") is None
    assert reader.evaluate(ANNOUNCED) == []
    reader.locator("#log").evaluate("log => { log.scrollTop = 0; }")  # a page of scrollback
    expect(reader.locator("#messages > li")).to_have_count(100)
    assert reader.evaluate(ANNOUNCED) == []

    bob = open_page("bob", "/chat/a11y-live/")
    connected(bob)
    bob.locator("#text").fill("said before alice came")
    bob.locator("#text").press("Enter")
    expect(bob.locator("#messages > li")).to_have_count(1)
    alice = open_page("alice", "/chat/a11y-live/")
    connected(alice)
    expect(alice.locator("#messages > li")).to_have_count(1)
    assert alice.evaluate(ANNOUNCED) == []
    bob.locator("#text").fill("hello from bob")
    bob.locator("#text").press("Enter")
    expect(alice.locator("#announcer p")).to_have_text(["bob: hello from bob"])
    expect(bob.locator("#announcer p")).to_have_count(0)  # one's own message is not read back

    # A reconnect (the client gives up on a silent socket) brings nothing new: nothing is read.
    alice.evaluate("window.chatConnection._abandon(window.chatConnection.socket)")
    expect(alice.locator("#status")).to_have_attribute("data-state", "reconnecting")
    connected(alice)
    expect(alice.locator("#status-live")).to_have_text("Connected again.")
    expect(alice.locator("#messages > li")).to_have_count(2)
    assert alice.evaluate(ANNOUNCED) == ["bob: hello from bob"]
    assert alice.errors == [] and bob.errors == [] and reader.errors == []


def test_screen_reader__status_countdown_is_not_read_every_second(open_page):
    page = open_page("alice", "/chat/a11y-status/")
    connected(page)
    assert page.locator("#status").get_attribute("role") is None
    assert page.locator("#status-live").text_content() == ""  # opening says nothing
    page.evaluate("window.chatConnection._abandon(window.chatConnection.socket)")
    expect(page.locator("#status-live")).to_have_text("Connection lost: reconnecting.")
    connected(page)
    expect(page.locator("#status-live")).to_have_text("Connected again.")


def test_screen_reader__every_control_has_a_name(open_page):
    page = open_page("alice", "/chat/history/")
    with_history(page)
    names = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, a, textarea, input, [tabindex]'))
          .filter(e => e.type !== 'hidden')
          .map(e => [e.id || e.tagName, e.getAttribute('aria-label')
            || (e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent.trim()])"""
    )
    assert names and all(name for _, name in names), [n for n in names if not n[1]]
    expect(page.get_by_role("region", name="Messages in #history")).to_be_visible()
    expect(page.get_by_role("button", name="Dark theme")).to_be_visible()


# screenshots for docs/ --------------------------------------------------------------------


def test_screenshots__both_themes_at_desktop_and_phone_width(open_page):
    """docs/screenshots/{room,rooms,login,signup}-<screen>.png, retaken on every run."""
    bob = open_page("bob", "/chat/tour/")
    connected(bob)
    alice = open_page("alice", "/chat/tour/")
    connected(alice)
    lines = [
        (bob, "Morning! The release notes are at https://example.org/notes/2.0"),
        (alice, "Thanks, reading them now."),
        (bob, "Dark mode follows the system, or the ◐ button in the header."),
        (alice, "And it is remembered across pages. Nice."),
    ]
    if alice.locator("#messages > li").count() == 0:
        for page, text in lines:
            page.locator("#text").fill(text)
            page.locator("#text").press("Enter")
            expect(page.locator("#messages > li").last).to_contain_text(text[:20])
    expect(alice.locator("#messages > li")).to_have_count(len(lines))
    expect(alice.locator("#presence .name")).to_have_text(["alice", "bob"])
    rooms = open_page("carol", "/")
    login = open_page(None, "/accounts/login/")
    signup = open_page(None, "/accounts/signup/")
    pages = ((alice, "room"), (rooms, "rooms"), (login, "login"), (signup, "signup"))
    for screen in SCREENS:
        slug = screen.name.replace(" ", "-")
        for page, name in pages:
            screen.apply(page)
            page.wait_for_timeout(50)
            screenshot(page, f"{name}-{slug}.png")
