"""Phones: long words wrap, the composer stays above the on-screen keyboard with the log at
its end, and the theme chosen with the toggle is remembered and painted from the start.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import phone_problems
from tests.browser.helpers import wait_for_js

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
LONG_ROOM = "a-very-long-room-name-" + "x" * 42  # 64 characters, the longest allowed
LONG_WORD = "Supercalifragilistic" * 8
LONG_LINK = "https://example.org/" + "path/" * 30 + "?q=" + "z" * 60
AT_END = "log => log.scrollHeight - log.scrollTop - log.clientHeight"


def connected(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")


def test_phone__long_words_links_and_room_names_wrap_inside_the_screen(open_page):
    page = open_page("alice", f"/chat/{LONG_ROOM}/", **PHONE)
    connected(page)
    for text in (LONG_WORD, f"see {LONG_LINK} now"):
        page.locator("#text").fill(text)
        page.locator("#text").press("Enter")
    expect(page.locator("#messages > li")).to_have_count(2)
    expect(page.locator("#messages a")).to_have_attribute("href", LONG_LINK)
    assert phone_problems(page) == []
    rooms = open_page("alice", "/", **PHONE)
    expect(rooms.locator(f'.room-row[data-room="{LONG_ROOM}"]')).to_be_visible()
    assert phone_problems(rooms) == []


def test_phone__the_composer_stays_above_the_keyboard_with_the_log_at_its_end(open_page):
    page = open_page("bob", "/chat/history/", **PHONE)
    connected(page)
    expect(page.locator("#messages > li")).to_have_count(50)
    log = page.locator("#log")
    assert log.evaluate(AT_END) < 2
    page.locator("#text").focus()
    # The on-screen keyboard takes the lower part of the screen (interactive-widget=
    # resizes-content): the page gets shorter, as here.
    page.set_viewport_size({"width": 360, "height": 400})
    wait_for_js(page, f"() => ({AT_END})(document.getElementById('log')) < 2")
    composer = page.locator("#composer").bounding_box()
    assert composer["y"] >= 0 and composer["y"] + composer["height"] <= 400, composer
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    last = page.locator("#messages > li").last.bounding_box()
    assert last["y"] + last["height"] <= composer["y"], (last, composer)  # the newest shows
    page.set_viewport_size({"width": 360, "height": 740})
    wait_for_js(page, f"() => ({AT_END})(document.getElementById('log')) < 2")


# The theme of <html> when <body> first exists, before anything could be painted.
THEME_AT_FIRST_PAINT = """
new MutationObserver((_, observer) => {
  if (!document.body) return;
  window.themeAtBody = document.documentElement.dataset.theme || "system";
  window.bgAtBody = getComputedStyle(document.documentElement).getPropertyValue("--bg");
  observer.disconnect();
}).observe(document, { childList: true, subtree: true });
"""
DARK_BG = "rgb(18, 21, 27)"
LIGHT_BG = "rgb(246, 247, 249)"


def test_phone__a_chosen_theme_is_remembered_and_set_before_the_first_paint(open_page):
    page = open_page(None, "/", color_scheme="light", **PHONE)
    body_bg = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(body_bg) == LIGHT_BG
    page.locator("#theme-toggle").click()
    assert page.evaluate(body_bg) == DARK_BG
    assert page.evaluate("localStorage.getItem('chat-theme')") == "dark"

    page.add_init_script(THEME_AT_FIRST_PAINT)
    page.goto("/accounts/login/")
    assert page.evaluate("window.themeAtBody") == "dark"
    assert page.evaluate(body_bg) == DARK_BG
    expect(page.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")

    # The system turns dark too: the override is now the system's choice; choosing light
    # is remembered, choosing dark again drops the override (the system leads).
    page.emulate_media(color_scheme="dark")
    page.locator("#theme-toggle").click()
    assert page.evaluate("localStorage.getItem('chat-theme')") == "light"
    assert page.evaluate(body_bg) == LIGHT_BG
    page.locator("#theme-toggle").click()
    assert page.evaluate("localStorage.getItem('chat-theme')") is None
    assert page.evaluate(body_bg) == DARK_BG
    page.reload()
    assert page.evaluate("window.themeAtBody") == "system"
    assert page.evaluate(body_bg) == DARK_BG
    assert page.errors == []
