"""Version 2's pages against the real server: the sidebar of followed rooms fed by the inbox
socket (two pages of one user in step, mentions, unfollow), the "new messages" line and the
read position advanced as the reader sees messages, notifications while the page is hidden,
and a user's name opening the direct room.

Rooms are created by carol's or mod's visits (the rooms tests count alice's and carol's
memberships; new public rooms per user are rate-limited), and direct rooms are bob's and
mod's for the same reason.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import SCREENS
from tests.browser.helpers import screenshot, wait_for_js

pytestmark = pytest.mark.browser

# The page believes it is hidden until the test says otherwise (window.__hidden = false),
# and records the notifications it raises and the permission requests it makes.
HIDDEN_AND_RECORDED = """
window.__hidden = true;
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get: () => window.__hidden !== false });
Object.defineProperty(Document.prototype, "visibilityState", {
  configurable: true, get: () => (window.__hidden === false ? "visible" : "hidden") });
window.__notes = [];
window.__asked = 0;
if (window.Notification) {
  const Real = window.Notification;
  function Recorded(title, options) {
    window.__notes.push({ title, body: options && options.body, tag: options && options.tag });
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => { window.__asked++; return Real.requestPermission(...args); };
  window.Notification = Recorded;
}
"""


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    return page


def inbox_ready(page):
    expect(page.locator("#sidebar")).to_have_attribute("data-connection", "connected")
    return page


def post(page, text):
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator("#messages > li:not(.pending) .body").last).to_have_text(text)


def set_visible(page, visible):
    page.evaluate(
        "v => { window.__hidden = !v; document.dispatchEvent(new Event('visibilitychange')); }",
        visible,
    )


def hidden_page(open_page, user, path, **options):
    page = open_page(user, "/accounts/login/" if user is None else "/", **options)
    page.add_init_script(HIDDEN_AND_RECORDED)
    page.goto(path)
    return page


def side_room(page, room):
    return page.locator(f'#sidebar-rooms .side-room[data-room="{room}"]')


def fresh_room(open_page, prefix):
    """A public room created by carol's visit; returns its name."""
    room = f"{prefix}-{uuid.uuid4().hex[:8]}"
    carol = connected(open_page("carol", f"/chat/{room}/"))
    carol.close()
    return room


def test_inbox__two_pages_of_one_user_stay_in_step(open_page):
    room = fresh_room(open_page, "steps")
    away = connected(hidden_page(open_page, "alice", f"/chat/{room}/"))  # follows it; hidden
    home = inbox_ready(open_page("alice", "/"))  # the other device: the sidebar, the room list
    badge = side_room(home, room).locator(".unread-n")
    row = home.locator(f'.room-row[data-room="{room}"]')
    expect(side_room(home, room)).to_be_visible()
    before = home.evaluate("ChatInbox.state.totals()")  # what other tests left unread
    bob = connected(open_page("bob", f"/chat/{room}/"))
    post(bob, "one for alice")
    post(bob, "two for alice")
    expect(badge).to_have_text("2")
    expect(side_room(home, room).locator(".visually-hidden")).to_have_text(", 2 unread")
    expect(row.locator(".unread-n")).to_have_text("2")  # the room list shows the same counts
    total = before["unread"] + 2
    shown = str(total) if total <= 99 else "99+"
    expect(home.locator("#sidebar-count")).to_have_text(shown)  # the phone toggle's
    said = home.evaluate(
        "t => ChatInbox.describeCounts(t.unread, t.mentions)", {**before, "unread": total}
    )
    expect(home.locator("#sidebar-toggle")).to_have_attribute("aria-label", f"Your rooms, {said}")
    expect(away.locator("#messages > li")).to_have_count(2)
    assert away.evaluate("window.chatConnection.readSeq") == 0  # hidden: nothing was read

    reader = connected(open_page("alice", f"/chat/{room}/"))  # a third page, visible: reads
    expect(badge).to_have_count(0)
    expect(row.locator(".unread-n")).to_have_count(0)
    expect(home.locator("#sidebar-count")).to_have_text(
        "" if not before["unread"] else str(before["unread"]) if before["unread"] <= 99 else "99+"
    )
    # The hidden page heard of it (a `read` frame from another device).
    wait_for_js(away, "() => window.chatConnection.readSeq === 2")
    link = side_room(reader, room).locator("a")
    expect(link).to_have_attribute("aria-current", "page")
    expect(link).to_have_attribute("href", f"/chat/{room}/")
    assert home.errors == [] and away.errors == [] and reader.errors == []


def test_inbox__new_messages_line_and_read_position_follow_what_was_seen(open_page):
    room = fresh_room(open_page, "line")
    bob = connected(open_page("bob", f"/chat/{room}/"))
    post(bob, "read before")
    small = {"viewport": {"width": 1280, "height": 420}}
    alice = connected(open_page("alice", f"/chat/{room}/", **small))
    wait_for_js(alice, "() => window.chatConnection.readSeq === 1")  # seen at once
    alice.goto("/")
    inbox_ready(alice)
    texts = [f"news {i}" for i in range(1, 9)]
    for text in texts:
        post(bob, text)
    expect(side_room(alice, room).locator(".unread-n")).to_have_text("8")

    alice.goto(f"/chat/{room}/")
    connected(alice)
    line = alice.locator("#messages > li.first-unread")
    expect(line.locator(".body")).to_have_text("news 1")
    # More is new than the log shows: it opens at the line, and only what shows is read.
    expect(line).to_be_in_viewport()
    wait_for_js(alice, "() => window.chatConnection.readSeq > 1")
    read = alice.evaluate("window.chatConnection.readSeq")
    assert 2 <= read < 9, read
    badge = side_room(alice, room).locator(".unread-n")
    expect(badge).to_have_text(str(9 - read))
    alice.locator("#log").evaluate("log => { log.scrollTop = log.scrollHeight; }")
    wait_for_js(alice, "() => window.chatConnection.readSeq === 9")
    expect(badge).to_have_count(0)
    expect(line).to_have_count(1)  # the line stays while the reader is here
    post(bob, "while alice is here")  # news of this visit, not missed: no line moves
    expect(alice.locator("#messages > li")).to_have_count(10)
    expect(alice.locator("#messages > li.first-unread .body")).to_have_text("news 1")
    wait_for_js(alice, "() => window.chatConnection.readSeq === 10")  # at the end: seen
    alice.reload()
    connected(alice)
    expect(alice.locator("#messages > li")).to_have_count(10)
    expect(alice.locator("#messages > li.first-unread")).to_have_count(0)  # all read: no line
    assert alice.errors == []


def test_inbox__a_mention_raises_the_badge_and_a_notification_only_while_hidden(open_page):
    room = fresh_room(open_page, "mention")
    alice = hidden_page(open_page, "alice", f"/chat/{room}/", permissions=["notifications"])
    connected(alice)  # alice follows the room
    alice.goto("/")
    inbox_ready(alice)
    expect(alice.locator("#notify")).to_be_hidden()  # allowed already: nothing to ask
    expect(alice.locator("#notify-state")).to_have_text(
        "Mentions are notified while this page is hidden."
    )
    bob = connected(open_page("bob", f"/chat/{room}/"))
    post(bob, "hey @alice, look at this")
    counts = side_room(alice, room).locator(".counts")
    expect(counts.locator(".mentions-n")).to_have_text("@1")
    expect(counts.locator(".visually-hidden")).to_have_text(", 1 unread, 1 mention")
    wait_for_js(alice, "() => window.__notes.length === 1")
    assert alice.evaluate("window.__notes") == [
        {"title": f"bob mentioned you in #{room}", "body": "hey @alice, look at this",
         "tag": f"mention:{room}:1"},
    ]  # fmt: skip
    set_visible(alice, True)
    post(bob, "@alice and again")
    expect(counts.locator(".mentions-n")).to_have_text("@2")
    post(bob, "no mention")  # the frames come in order: the mention's was handled before
    expect(counts.locator(".unread-n")).to_have_text("3")
    assert alice.evaluate("window.__notes.length") == 1  # visible: the badge says it
    assert alice.evaluate("window.__asked") == 0
    assert alice.errors == []


def test_inbox__notifications_are_asked_for_by_the_button_never_on_load(open_page):
    page = hidden_page(open_page, "alice", "/")
    inbox_ready(page)
    assert page.evaluate("Notification.permission") == "default"
    assert page.evaluate("window.__asked") == 0
    button = page.get_by_role("button", name="Notify me of mentions")
    expect(button).to_be_visible()
    button.click()
    wait_for_js(page, "() => window.__asked === 1")
    expect(button).to_be_hidden()
    state = page.locator("#notify-state")
    expect(state).to_be_visible()
    expect(state).to_be_focused()  # the answer is where the button was
    assert page.evaluate("Notification.permission") in ("granted", "denied")
    assert page.errors == []


def test_inbox__guests_get_no_sidebar_and_open_no_inbox_socket(open_page):
    sockets = []
    guest = open_page(None, "/accounts/login/")
    guest.on("websocket", lambda socket: sockets.append(socket.url))
    guest.goto("/chat/history/")
    connected(guest)
    expect(guest.locator("#sidebar, #sidebar-toggle")).to_have_count(0)
    expect(guest.locator("#search-input")).to_be_visible()  # searching is for everybody
    assert [url.split("/", 3)[3] for url in sockets] == ["ws/chat/history/"]
    assert guest.errors == []


def test_inbox__a_removed_membership_leaves_the_sidebar(open_page):
    name = f"unfollow-{uuid.uuid4().hex[:8]}"
    owner = open_page("mod", "/rooms/new-private/")
    owner.get_by_label("Room name").fill(name)
    owner.get_by_role("button", name="Create").click()
    owner.wait_for_url(re.compile(rf"/chat/{name}/members/$"))
    carol = inbox_ready(open_page("carol", "/"))
    owner.get_by_label("Add a member by user name").fill("carol")
    owner.get_by_role("button", name="Add").click()
    expect(owner.locator("#members .member-name")).to_have_text(["carol"])
    expect(side_room(carol, name)).to_be_visible()  # a new membership: followed at once
    owner.get_by_role("button", name="Remove carol").click()
    expect(owner.locator("#members")).to_have_count(0)
    expect(side_room(carol, name)).to_have_count(0)
    assert carol.errors == []


def test_direct_room__opened_from_a_name_in_the_online_list_and_from_an_author(open_page):
    room = fresh_room(open_page, "names")
    mod = connected(open_page("mod", f"/chat/{room}/"))
    post(mod, "write to me privately")
    bob = connected(open_page("bob", f"/chat/{room}/"))
    expect(bob.locator("#messages .author")).to_have_text(["mod"])
    expect(bob.locator("#presence .name")).to_have_text(["bob", "mod"])
    expect(bob.locator("#presence .me button")).to_have_count(0)  # not for oneself
    bob.locator("#presence button.name", has_text="mod").click()
    bob.wait_for_url(re.compile(r"/chat/dm-\d+-\d+/$"))
    direct = bob.url
    connected(bob)
    expect(bob.locator("#room-title")).to_have_text("mod")
    expect(bob.locator("#direct-badge")).to_have_text("direct")
    expect(bob).to_have_title("mod · Chat")
    expect(bob.locator("#text")).to_have_attribute("placeholder", "Message mod")
    post(bob, "hello mod")
    expect(side_room(bob, direct.rstrip("/").rsplit("/", 1)[1]).locator(".side-name")).to_have_text(
        "mod"
    )

    mod.goto(f"/chat/{room}/")  # the same room again, from mod's side, through an author
    connected(mod)
    back = connected(open_page("bob", f"/chat/{room}/"))
    post(back, "and here")
    mod.locator("#messages button.author", has_text="bob").click()
    mod.wait_for_url(direct)  # found again, whoever asks
    connected(mod)
    expect(mod.locator("#room-title")).to_have_text("bob")
    expect(mod.locator("#direct-badge")).to_have_text("direct")
    expect(mod.locator("#messages .body")).to_have_text(["hello mod"])
    expect(mod.locator("#messages button.author")).to_have_text(["bob"])

    guest = connected(open_page(None, f"/chat/{room}/"))
    expect(guest.locator("#messages .author")).to_have_count(2)
    expect(guest.locator("#messages button.author")).to_have_count(0)  # guests: plain names
    assert bob.errors == [] and mod.errors == [] and back.errors == []


def test_screenshots__sidebar_and_direct_room(open_page):
    """docs/screenshots/{sidebar,direct-room}-<screen>.png, retaken on every run: bob's
    followed rooms with their counts (the room list at desktop width, the open panel at phone
    width) and his direct room with mod."""
    room = "design-review"
    bob = connected(open_page("bob", f"/chat/{room}/"))  # bob follows it, then goes
    bob.goto("/")
    carol = connected(open_page("carol", f"/chat/{room}/"))
    if carol.locator("#messages > li").count() == 0:
        for text in ("Mock-ups for the sidebar are up.", "@bob can you check the phone layout?"):
            post(carol, text)
    mod = connected(open_page("mod", f"/chat/{room}/"))
    mod.evaluate("window.ChatDirect.open('bob')")
    mod.wait_for_url(re.compile(r"/chat/dm-\d+-\d+/$"))
    connected(mod)
    if mod.locator("#messages > li").count() == 0:
        post(mod, "Got a minute? The release is tomorrow.")
    direct = mod.url
    inbox_ready(bob)
    expect(side_room(bob, room).locator(".mentions-n")).to_have_text("@1")
    dm = open_page("bob", direct)
    connected(dm)
    expect(dm.locator("#messages > li")).to_have_count(1)
    for screen in SCREENS:
        slug = screen.name.replace(" ", "-")
        for page in (bob, dm):
            screen.apply(page)
        if screen.width < 600:
            bob.locator("#sidebar-toggle").click()
            expect(bob.locator("#sidebar")).to_be_visible()
        bob.wait_for_timeout(100)
        screenshot(bob, f"sidebar-{slug}.png")
        screenshot(dm, f"direct-room-{slug}.png")
        if screen.width < 600:
            bob.keyboard.press("Escape")
            expect(bob.locator("#sidebar")).to_be_hidden()
    assert bob.errors == [] and dm.errors == [] and mod.errors == []
