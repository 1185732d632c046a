"""Text is text: markup in a message is shown as its characters and runs nothing."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script><b>bold?</b>"
LINKS = "docs at https://example.com/a?b=1&c=2. but javascript:alert(3) stays text"


def test_xss__markup_is_shown_as_text_and_links_are_safe(open_page):
    dialogs = []
    alice = open_page("alice", "/chat/xss/")
    bob = open_page("bob", "/chat/xss/")
    for page in (alice, bob):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    for text in (XSS, SCRIPT, LINKS):
        alice.locator("#text").fill(text)
        alice.locator("#text").press("Enter")

    bob.reload()  # and once more from history, through the hello frame
    for page in (alice, bob):
        expect(page.locator("#messages .body")).to_have_text([XSS, SCRIPT, LINKS])
        assert page.locator("#messages img, #messages script, #messages b").count() == 0
        link = page.locator("#messages a")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", "https://example.com/a?b=1&c=2")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow ugc")
    alice.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert dialogs == []
    assert alice.errors == [] and bob.errors == []


def test_pages_send_a_content_security_policy(open_page):
    page = open_page(None)
    response = page.goto("/chat/xss/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
