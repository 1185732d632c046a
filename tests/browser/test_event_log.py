"""The room's event log in the page, two users on two pages: edit in place (also with Up),
delete after a confirmation, react (picker, and joining or leaving a reaction), reply with a
quote that goes to the answered message, mention completion, and an edit made offline that
is sent on the reconnect. Every change shows on both pages, live."""

import re
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import SCREENS
from tests.browser.helpers import screenshot, wait_for_js

pytestmark = pytest.mark.browser


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")


def pair(open_page, first="alice", second="bob"):
    """Two users on a room of its own (the server lives for the whole package)."""
    path = f"/chat/log-{uuid.uuid4().hex[:10]}/"
    a, b = open_page(first, path), open_page(second, path)
    connected(a)
    connected(b)
    return a, b


def post(page, text):
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator("#messages > li .body").last).to_have_text(text)


def message(page, text):
    return page.locator("#messages > li", has=page.locator(".body", has_text=text))


def action(page, li, name):
    """A message's action button, as a mouse user reaches it (hovering the message)."""
    li.hover()
    li.get_by_role("button", name=name).click()


def test_edit__in_place_with_up_in_an_empty_composer_and_shown_edited_to_everyone(open_page):
    alice, bob = pair(open_page)
    post(alice, "helo bob")
    expect(message(bob, "helo bob")).to_have_count(1)

    composer = alice.locator("#text")
    composer.press("ArrowUp")  # the last own message opens for editing
    editor = alice.get_by_role("textbox", name="Edit your message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("helo bob")
    editor.press("End")
    editor.type(" (typo)")
    editor.press("Escape")  # cancelled: nothing changes, the focus goes back
    expect(composer).to_be_focused()
    expect(alice.locator("#messages .body")).to_have_text(["helo bob"])

    composer.press("ArrowUp")
    editor.fill("hello bob")
    editor.press("Enter")
    expect(composer).to_be_focused()
    for page in (alice, bob):
        expect(page.locator("#messages .body")).to_have_text(["hello bob"])
        expect(page.locator("#messages .edited")).to_have_text(["(edited)"])
    expect(bob.locator("#announcer p").last).to_have_text("alice edited their message.")

    # With the button too; bob has no Edit button on alice's message.
    li = message(alice, "hello bob")
    action(alice, li, "Edit your message")
    editor.fill("hello again")
    alice.get_by_role("button", name="Save").click()
    expect(message(bob, "hello again")).to_have_count(1)
    message(bob, "hello again").hover()
    expect(
        message(bob, "hello again").get_by_role("button", name="Edit your message")
    ).to_have_count(0)
    assert alice.errors == [] and bob.errors == []


def test_delete__asks_first_escape_keeps_it_and_everyone_sees_it_deleted(open_page):
    alice, bob = pair(open_page)
    post(alice, "sent to the wrong room")
    post(alice, "this one stays")
    li = message(alice, "sent to the wrong room")
    action(alice, li, "Delete your message")
    dialog = alice.get_by_role("dialog", name="Delete this message?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    alice.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(bob.locator("#messages .body")).to_have_text(
        ["sent to the wrong room", "this one stays"]
    )

    action(alice, li, "Delete your message")
    dialog.get_by_role("button", name="Delete").click()
    for page in (alice, bob):
        expect(page.locator("#messages .body")).to_have_text(["Message deleted", "this one stays"])
    expect(bob.locator("#announcer p").last).to_have_text("alice deleted their message.")
    message(bob, "this one stays").hover()  # bob is no moderator: no Delete on alice's message
    expect(bob.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    # A deleted message has no actions left.
    expect(message(alice, "Message deleted").locator(".actions button")).to_have_count(0)


def test_react__picker_and_joining_and_leaving_an_existing_reaction(open_page):
    alice, bob = pair(open_page)
    post(alice, "lunch at noon?")
    action(bob, message(bob, "lunch at noon?"), "React to the message of alice")
    picker = bob.get_by_role("dialog", name="React with")
    expect(picker).to_be_visible()
    picker.get_by_role("button", name="👍").click()
    expect(picker).to_be_hidden()
    for page, pressed in ((alice, "false"), (bob, "true")):
        chip = page.locator("#messages .reaction")
        expect(chip).to_have_text(["👍1"])
        expect(chip).to_have_attribute("aria-pressed", pressed)
    expect(alice.locator("#announcer p").last).to_have_text("bob reacted 👍 to your message.")

    chip = alice.locator("#messages .reaction")
    chip.click()  # alice joins bob's reaction
    for page in (alice, bob):
        expect(page.locator("#messages .reaction")).to_have_text(["👍2"])
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(chip).to_have_attribute("aria-label", "👍 2: you and bob")
    chip.click()  # and leaves it
    for page in (alice, bob):
        expect(page.locator("#messages .reaction")).to_have_text(["👍1"])
    expect(chip).to_have_attribute("aria-pressed", "false")

    # Any emoji, typed; a word is refused in the picker before it reaches the server.
    action(alice, message(alice, "lunch at noon?"), "React to your message")
    field = alice.get_by_label("Any other emoji")
    field.fill("yes")
    field.press("Enter")
    expect(alice.locator("#picker-error")).to_have_text("Type one emoji, for example 👍 or 🚀.")
    field.fill("🚀")
    field.press("Enter")
    for page in (alice, bob):
        expect(page.locator("#messages .reaction")).to_have_text(["👍1", "🚀1"])
    assert alice.errors == [] and bob.errors == []


def test_dialogs__closed_and_at_once_reopened_still_act_for_the_new_opening(open_page):
    """A dialog's close event is queued: Escape then a quick Enter reopens the picker (or the
    delete dialog) before the first close is handled, which used to end the new opening
    (the emoji chosen, or the deletion confirmed, then did nothing)."""
    alice, bob = pair(open_page)
    post(alice, "quick hands")
    li = message(alice, "quick hands")
    li.hover()
    close_and_reopen = """([dialog, button]) => {
        document.getElementById(dialog).close();
        document.querySelector(button).click();  // before the close event is handled
    }"""
    action(alice, li, "React to your message")
    picker = alice.get_by_role("dialog", name="React with")
    expect(picker).to_be_visible()
    alice.evaluate(close_and_reopen, ["picker", '#messages button[data-action="react"]'])
    expect(picker).to_be_visible()
    picker.get_by_role("button", name="🎉").click()
    expect(bob.locator("#messages .reaction")).to_have_text(["🎉1"])

    action(alice, li, "Delete your message")
    dialog = alice.get_by_role("dialog", name="Delete this message?")
    alice.evaluate(close_and_reopen, ["confirm-delete", '#messages button[data-action="delete"]'])
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(bob.locator("#messages .body")).to_have_text(["Message deleted"])
    assert alice.errors == []


def test_reply__quotes_the_answered_message_and_the_quote_goes_to_it(open_page):
    alice, bob = pair(open_page)
    post(bob, "who reviews the patch?")
    for i in range(25):  # enough to scroll the question out of view
        post(bob, f"filler {i}")
    action(alice, message(alice, "who reviews the patch?"), "Reply to the message of bob")
    bar = alice.locator("#replying")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("bob: who reviews the patch?")
    expect(alice.locator("#text")).to_be_focused()
    alice.locator("#text").fill("I do")
    alice.locator("#text").press("Enter")
    expect(bar).to_be_hidden()

    answer = message(bob, "I do")
    quote = answer.locator(".quote")
    expect(quote).to_have_text("In reply to you: who reviews the patch?")  # bob's own
    expect(message(alice, "I do").locator(".quote")).to_have_text(
        "In reply to bob: who reviews the patch?"
    )
    question = message(bob, "who reviews the patch?")
    expect(question).not_to_be_in_viewport()
    quote.click()
    expect(question).to_be_in_viewport()
    expect(question).to_be_focused()
    expect(question).to_have_class(re.compile(r"\bflash\b"))

    # The reply bar can be cancelled; the next message answers nothing.
    action(alice, message(alice, "filler 3"), "Reply to the message of bob")
    alice.get_by_role("button", name="Cancel reply").click()
    expect(bar).to_be_hidden()
    post(alice, "not an answer")
    expect(message(bob, "not an answer").locator(".quote")).to_have_count(0)


def test_mentions__completion_as_you_type_at_and_the_mention_marked_for_its_user(open_page):
    alice, bob = pair(open_page)
    expect(alice.locator("#presence .name")).to_have_text(["alice", "bob"])
    composer = alice.locator("#text")
    composer.press_sequentially("thanks @b")
    options = alice.get_by_role("listbox", name="People to mention").get_by_role("option")
    expect(options).to_have_text(["@bob"])
    expect(composer).to_have_attribute("aria-activedescendant", "mention-list-0")
    composer.press("Enter")  # inserts, does not send
    expect(composer).to_have_value("thanks @bob ")
    expect(options).to_have_count(0)
    composer.press_sequentially("and @zz")  # nobody: no list
    expect(options).to_have_count(0)
    composer.press("Enter")
    mentioned = message(bob, "thanks @bob")
    expect(mentioned).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mentioned.locator(".mention.me")).to_have_text("@bob")
    expect(mentioned.locator(".mentioned")).to_have_text("mentions you")
    expect(message(alice, "thanks @bob").locator(".mention")).to_have_text("@bob")
    expect(message(alice, "thanks @bob")).not_to_have_class(re.compile(r"\bmentions-me\b"))

    # In the editor too: an edit that adds a mention marks it for its user.
    post(alice, "see you at five")
    composer.press("ArrowUp")
    editor = alice.get_by_role("textbox", name="Edit your message")
    editor.press("End")
    editor.press_sequentially(", @b")
    expect(options).to_have_text(["@bob"])
    editor.press("Enter")  # inserts, does not save
    expect(editor).to_have_value("see you at five, @bob ")
    editor.press("Enter")
    edited = message(bob, "see you at five, @bob")
    expect(edited.locator(".mention.me")).to_have_text("@bob")
    expect(edited).to_have_class(re.compile(r"\bmentions-me\b"))


def test_outbox__an_edit_and_a_reaction_made_offline_are_sent_on_the_reconnect(open_page):
    alice, bob = pair(open_page)
    post(alice, "draft one")
    expect(message(bob, "draft one")).to_have_count(1)
    alice.context.set_offline(True)
    alice.evaluate("window.chatConnection._abandon(window.chatConnection.socket)")
    expect(alice.locator("#status")).to_have_attribute("data-state", "offline")

    alice.locator("#text").press("ArrowUp")
    alice.get_by_role("textbox", name="Edit your message").fill("final version")
    alice.get_by_role("textbox", name="Edit your message").press("Enter")
    mine = message(alice, "final version")
    expect(mine.locator(".state")).to_have_text("edit not saved yet")
    alice.locator("#log").focus()
    alice.keyboard.press("ArrowUp")  # to the message, then its React button
    action(alice, mine, "React to your message")
    alice.get_by_role("dialog", name="React with").get_by_role("button", name="🎉").click()
    expect(mine.locator(".reaction")).to_have_text(["🎉1"])
    expect(bob.locator("#messages .body")).to_have_text(["draft one"])
    entries = alice.evaluate("window.chatConnection.outbox.toJSON()")
    assert [e["kind"] for e in entries] == ["edit", "react"]

    alice.context.set_offline(False)
    alice.evaluate("window.chatConnection.retryNow()")
    connected(alice)
    expect(bob.locator("#messages .body")).to_have_text(["final version"])
    expect(bob.locator("#messages .reaction")).to_have_text(["🎉1"])
    expect(mine.locator(".state")).to_have_count(0)
    assert alice.evaluate("window.chatConnection.outbox.entries.length") == 0
    # The same client_ids again (a retry after a lost ack) store nothing new.
    seq = alice.evaluate("window.chatConnection.timeline.cursor")
    alice.evaluate(
        """entries => { const c = window.chatConnection;
             for (const e of entries) c.outbox.command(e, e.clientId); c._flush(); }""",
        entries,
    )
    wait_for_js(alice, "() => window.chatConnection.outbox.entries.length === 0")
    post(alice, "after the retry")
    assert alice.evaluate("window.chatConnection.timeline.cursor") == seq + 1


def test_errors__a_refused_command_is_shown_and_the_connection_stays(open_page):
    alice, bob = pair(open_page)
    post(alice, "mine, not bob's")
    seq = int(message(bob, "mine, not bob's").get_attribute("data-seq"))
    bob.evaluate("seq => window.chatConnection.edit(seq, 'bob was here')", seq)
    notice = bob.get_by_role("alert")
    expect(notice).to_have_text("Your edit was not saved: Only its author can edit a message.")
    bob.evaluate("() => window.chatConnection.react(999999, '👍', true)")
    expect(notice).to_have_text("Your reaction was not saved: No message 999999 in this room.")
    connected(bob)
    assert bob.evaluate("window.chatConnection.socket.readyState") == 1
    expect(message(bob, "mine, not bob's")).to_have_count(1)
    expect(bob.locator("#messages .edited")).to_have_count(0)
    post(bob, "still connected")
    expect(message(alice, "still connected")).to_have_count(1)


def test_screenshots__the_event_log_in_both_themes_at_desktop_and_phone_width(open_page):
    """docs/screenshots/event-log-<screen>.png, reaction-picker-<screen>.png and
    edit-in-progress-<screen>.png, retaken on every run."""
    bob = open_page("bob", "/chat/tour-log/")
    connected(bob)
    alice = open_page("alice", "/chat/tour-log/")
    connected(alice)
    if alice.locator("#messages > li").count() == 0:
        post(bob, "Who can look at the release notes before five?")
        post(alice, "Me, sending comments in a bit")
        post(bob, "Wrong room, sorry")
        post(bob, "Thanks! @alice the draft is in the usual place")
        question, mine, wrong, thanks = (
            int(message(bob, text).get_attribute("data-seq"))
            for text in ("Who can", "Me, sending", "Wrong room", "Thanks!")
        )
        alice.evaluate("s => window.chatConnection.edit(s, 'Me, comments within the hour')", mine)
        bob.evaluate("s => window.chatConnection.remove(s)", wrong)
        bob.evaluate("s => window.chatConnection.react(s, '🎉', true)", mine)
        alice.evaluate("s => window.chatConnection.react(s, '👍', true)", thanks)
        bob.evaluate("s => window.chatConnection.react(s, '👍', true)", thanks)
        alice.evaluate("s => window.chatConnection.send('Found it, on my way', s)", question)
    expect(alice.locator("#messages .reaction")).to_have_count(2)
    expect(alice.locator("#messages .quote")).to_have_count(1)
    expect(alice.locator("#messages .deleted")).to_have_count(1)
    last = alice.locator("#messages > li").last
    for screen in SCREENS:
        slug = screen.name.replace(" ", "-")
        screen.apply(alice)
        alice.wait_for_timeout(50)
        alice.locator("#text").focus()
        alice.mouse.move(0, 0)
        screenshot(alice, f"event-log-{slug}.png")
        alice.keyboard.press("ArrowUp")
        expect(alice.get_by_role("textbox", name="Edit your message")).to_be_focused()
        screenshot(alice, f"edit-in-progress-{slug}.png")
        alice.keyboard.press("Escape")
        last.hover()
        last.get_by_role("button", name="React to your message").click()
        expect(alice.get_by_role("dialog", name="React with")).to_be_visible()
        screenshot(alice, f"reaction-picker-{slug}.png")
        alice.keyboard.press("Escape")
    assert alice.errors == [] and bob.errors == []


def test_moderation__the_owner_of_a_private_room_may_delete_any_message_there(open_page):
    bob = open_page("bob", "/chat/team-secret/")  # bob owns it, alice is a member
    alice = open_page("alice", "/chat/team-secret/")
    connected(bob)
    connected(alice)
    text = f"off-topic {uuid.uuid4().hex[:6]}"
    post(alice, text)
    alice_message = message(bob, text)
    alice_message.hover()
    expect(alice_message.get_by_role("button", name=re.compile("^Edit"))).to_have_count(0)
    alice_message.get_by_role("button", name="Delete the message of alice").click()
    bob.get_by_role("dialog", name="Delete this message?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(alice.locator("#messages > li").last.locator(".body")).to_have_text("Message deleted")
    expect(alice.locator("#announcer p").last).to_have_text("A moderator deleted your message.")
    # A member is no moderator: alice is offered no Delete on bob's messages.
    post(bob, "owner speaking")
    message(alice, "owner speaking").hover()
    expect(
        message(alice, "owner speaking").get_by_role("button", name=re.compile("^Delete"))
    ).to_have_count(0)


# The marks of this visit (the active message, a flash, where the reader stopped, a message a
# search found) are not the messages' state: left out of the comparison.
STATE_OF_PAGE = """() => Array.from(document.querySelectorAll('#messages > li'), li => ({
  seq: li.dataset.seq, cls: li.className.replace(/\\s*\\b(active|flash|first-unread|found)\\b/g, ''),
  meta: li.querySelector('.meta').textContent, body: li.querySelector('.body').textContent,
  quote: (li.querySelector('.quote') || {}).textContent || null,
  reactions: Array.from(li.querySelectorAll('.reaction'), r => r.getAttribute('aria-label')),
}))"""


def test_resume__a_page_away_during_changes_ends_as_a_fresh_page_shows(open_page):
    alice, bob = pair(open_page)
    path = urlsplit(alice.url).path
    away = open_page("carol", path)
    connected(away)
    for text in ("one", "two", "three"):
        post(alice, text)
    expect(away.locator("#messages > li")).to_have_count(3)
    one, two, three = (
        int(message(alice, t).get_attribute("data-seq")) for t in ("one", "two", "three")
    )
    away.context.set_offline(True)
    away.evaluate("window.chatConnection._abandon(window.chatConnection.socket)")
    for i in range(10):
        alice.evaluate("([s, t]) => window.chatConnection.edit(s, t)", [one, f"one, take {i}"])
    bob.evaluate("s => window.chatConnection.react(s, '👍', true)", one)
    alice.evaluate("s => window.chatConnection.react(s, '👍', true)", one)
    bob.evaluate("s => window.chatConnection.react(s, '👍', false)", one)
    alice.evaluate("s => window.chatConnection.remove(s)", two)
    bob.evaluate("s => window.chatConnection.send('@carol look', s)", three)
    expect(bob.locator("#messages > li")).to_have_count(4)
    expect(bob.locator("#messages .body").first).to_have_text("one, take 9")
    expect(bob.locator("#messages .reaction")).to_have_text(["👍1"])

    away.context.set_offline(False)
    away.evaluate("window.chatConnection.retryNow()")
    connected(away)
    expect(away.locator("#messages > li")).to_have_count(4)
    expect(away.locator("#messages .body").first).to_have_text("one, take 9")
    fresh = open_page("carol", path)
    connected(fresh)
    expect(fresh.locator("#messages > li")).to_have_count(4)
    resumed, shown = away.evaluate(STATE_OF_PAGE), fresh.evaluate(STATE_OF_PAGE)
    assert resumed == shown
    assert [m["body"] for m in shown] == ["one, take 9", "Message deleted", "three", "@carol look"]
    assert shown[0]["reactions"] == ["👍 1: alice"]
    assert shown[3]["quote"] == "In reply to alice: three"
    assert "mentions-me" in shown[3]["cls"]


def test_deleted_meanwhile__an_open_editor_and_a_reply_bar_close_and_say_why(open_page):
    alice, bob = pair(open_page)
    post(alice, "about to go")
    post(bob, "bob asks")
    alice.locator("#text").press("ArrowUp")
    expect(alice.locator(".editor")).to_have_count(1)
    seq = int(message(bob, "about to go").get_attribute("data-seq"))
    other_tab = open_page("alice", urlsplit(alice.url).path)
    connected(other_tab)
    other_tab.evaluate("s => window.chatConnection.remove(s)", seq)
    expect(alice.get_by_role("alert")).to_have_text("The message you were editing was deleted.")
    expect(alice.locator(".editor")).to_have_count(0)
    expect(alice.locator("#messages .body").first).to_have_text("Message deleted")

    action(alice, message(alice, "bob asks"), "Reply to the message of bob")
    expect(alice.locator("#replying")).to_be_visible()
    bob.evaluate(
        "s => window.chatConnection.remove(s)",
        int(message(bob, "bob asks").get_attribute("data-seq")),
    )
    expect(alice.locator("#replying")).to_be_hidden()
    expect(alice.get_by_role("alert")).to_have_text("The message you were answering was deleted.")
    assert alice.errors == []
