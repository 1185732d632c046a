"""The search box against the real server (GET /api/search): results with room, author,
time and the words marked as text, a result opening the room at the message (older history
loaded until it shows), keyboard only, the audit of the results, and their screenshots.

Every test here needs the search endpoint (helper 14-search's branch): without it the
results never come and these tests fail.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import SCREENS, audit, describe, phone_problems
from tests.browser.helpers import screenshot
from tests.browser.test_keyboard import focused, tab_to

pytestmark = pytest.mark.browser


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    return page


def post(page, text):
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator("#messages > li:not(.pending) .body").last).to_have_text(text)


@pytest.fixture(scope="module")
def word():
    """A word no other test writes: its messages are the only results."""
    return "zq" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def seeded(word):
    return {"room": f"found-{word[2:]}", "seeded": False}


def seed(open_page, seeded, word):
    """carol's room with three messages holding word (once per module)."""
    if seeded["seeded"]:
        return seeded["room"]
    page = connected(open_page("carol", f"/chat/{seeded['room']}/"))
    for text in (f"first {word} note", "nothing to find", f"<b>{word}</b> & <img src=x> done"):
        post(page, text)
    page.close()
    seeded["seeded"] = True
    return seeded["room"]


def search(page, query):
    page.locator("#search-input").fill(query)
    page.locator("#search-input").press("Enter")
    expect(page.locator("#search-status")).not_to_have_text("Searching…")


def test_search__results_show_room_author_and_marked_words_as_text(open_page, seeded, word):
    room = seed(open_page, seeded, word)
    page = open_page("alice", "/")
    search(page, word.upper())
    expect(page.locator("#search-status")).to_have_text(f"2 messages found for “{word.upper()}”.")
    results = page.locator("#search-list a.result")
    expect(results).to_have_count(2)
    expect(results.locator(".result-room")).to_have_text([f"#{room}", f"#{room}"])
    expect(results.locator(".result-user")).to_have_text(["carol", "carol"])
    newest = results.first  # newest first
    expect(newest.locator(".result-text")).to_have_text(f"<b>{word}</b> & <img src=x> done")
    expect(newest.locator("mark")).to_have_text([word])
    expect(newest.locator("img, b")).to_have_count(0)  # user text is text, never HTML
    expect(results.last.locator("mark")).to_have_text([word])
    assert newest.get_attribute("href").startswith(f"/chat/{room}/?at=")
    assert newest.locator("time").get_attribute("datetime").endswith("Z")
    assert newest.locator("time").text_content()  # the local date and time

    search(page, "   ")
    expect(page.locator("#search-status")).to_have_text("Type one or more words to search for.")
    search(page, f"{word} nothing")  # every word must be in the message
    expect(page.locator("#search-status")).to_have_text(f"No messages found for “{word} nothing”.")
    page.keyboard.press("Escape")
    expect(page.locator("#search-results")).to_be_hidden()
    expect(page.locator("#search-input")).to_be_focused()
    guest = open_page(None, "/")  # anonymous readers search the public rooms
    search(guest, word)
    expect(guest.locator("#search-list a.result")).to_have_count(2)
    assert page.errors == [] and guest.errors == []


def test_search__a_result_opens_the_room_at_the_message_loading_older_history(open_page):
    page = open_page("bob", "/")
    search(page, "history message 7")
    result = page.locator('#search-list a.result[data-room="history"][data-seq="7"]')
    expect(result).to_have_count(1)
    result.click()
    page.wait_for_url(re.compile(r"/chat/history/\?at=7$"))
    connected(page)
    found = page.locator('#messages > li[data-seq="7"]')  # hello held 71..120: pages loaded
    expect(found).to_have_class(re.compile(r"\bfound\b"))
    expect(found).to_be_focused()
    expect(found).to_be_in_viewport()
    expect(found.locator(".body")).to_have_text("history message 7")

    # In the room already: the result jumps there without loading the page again.
    page.evaluate("window.samePage = true")
    search(page, "history message 120")
    page.locator('#search-list a.result[data-seq="120"]').click()
    last = page.locator('#messages > li[data-seq="120"]')
    expect(last).to_have_class(re.compile(r"\bfound\b"))
    expect(found).not_to_have_class(re.compile(r"\bfound\b"))
    expect(page.locator("#search-results")).to_be_hidden()
    assert page.evaluate("window.samePage") is True
    assert page.url.endswith("/chat/history/?at=120")
    assert page.errors == []


def test_keyboard__search_and_open_a_result(open_page, seeded, word):
    room = seed(open_page, seeded, word)
    page = open_page("alice", "/")
    tab_to(page, "#search-input")
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    expect(page.locator("#search-list a.result")).to_have_count(2)
    expect(page.locator("#search-input")).to_be_focused()
    tab_to(page, "a.result")  # after the box and its button: the first result
    assert focused(page, "a.result")["visible"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/chat/{room}/\?at=\d+$"))
    connected(page)
    expect(page.locator("#messages > li.found")).to_be_focused()
    assert page.errors == []


def test_keyboard__search_at_phone_width_behind_its_toggle(open_page, seeded, word):
    seed(open_page, seeded, word)
    page = open_page(None, "/", viewport={"width": 360, "height": 740})
    expect(page.locator("#search")).to_be_hidden()
    tab_to(page, "#search-toggle")
    page.keyboard.press("Enter")
    expect(page.locator("#search-input")).to_be_focused()  # opening it puts the caret in it
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    expect(page.locator("#search-list a.result")).to_have_count(2)
    page.keyboard.press("Escape")  # closes the panel, the focus back on its toggle
    expect(page.locator("#search")).to_be_hidden()
    expect(page.locator("#search-toggle")).to_be_focused()


def results_open(page, word, phone=False):
    if phone:
        page.set_viewport_size({"width": 360, "height": 740})
        page.locator("#search-toggle").click()
    search(page, word)
    expect(page.locator("#search-list a.result")).to_have_count(2)


@pytest.mark.parametrize("user", ["alice", None], ids=["logged in", "guest"])
@pytest.mark.parametrize("phone", [False, True], ids=["box", "phone panel"])
def test_audit__search_results(open_page, seeded, word, user, phone):
    seed(open_page, seeded, word)
    page = open_page(user, "/chat/history/")
    connected(page)
    results_open(page, word, phone)
    screens = [s for s in SCREENS if s.name.startswith("phone") == phone]
    found = audit(page, screens)
    assert not found, describe(found)
    if phone:
        problems = phone_problems(page)
        assert not problems, "\n".join(problems)
    assert page.errors == []


def test_screenshots__search_results(open_page, seeded, word):
    """docs/screenshots/search-results-<screen>.png, retaken on every run."""
    seed(open_page, seeded, word)
    page = open_page("alice", "/")
    for screen in SCREENS:
        screen.apply(page)
        phone = screen.name.startswith("phone")
        if phone and page.locator("#search-toggle").get_attribute("aria-expanded") != "true":
            page.locator("#search-toggle").click()
        search(page, word)
        expect(page.locator("#search-list a.result")).to_have_count(2)
        page.wait_for_timeout(50)
        screenshot(page, f"search-results-{screen.name.replace(' ', '-')}.png")
