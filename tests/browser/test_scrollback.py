"""Scrollback: scrolling up loads older messages through `history` frames, in order."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import messages_in, wait_for_js

pytestmark = pytest.mark.browser


def test_scrollback__scrolling_up_loads_older_pages_until_the_beginning(open_page):
    page = open_page("alice", "/chat/history/")  # 120 messages, seeded
    items = page.locator("#messages > li")
    expect(items).to_have_count(50)
    assert messages_in(page)[0][0] == 71
    expect(page.locator("#beginning")).to_be_hidden()
    log = page.locator("#log")
    assert log.evaluate("log => log.scrollHeight - log.scrollTop - log.clientHeight") < 40

    log.evaluate("log => { log.scrollTop = 0; }")
    expect(items).to_have_count(100)
    # The reader's place is kept: what was at the top is still in view, not pushed away.
    assert log.evaluate("log => log.scrollTop") > 0
    assert page.locator('#messages > li[data-seq="71"]').is_visible()

    log.evaluate("log => { log.scrollTop = 0; }")
    expect(items).to_have_count(120)
    expect(page.locator("#beginning")).to_be_visible()
    expect(page.locator("#older")).to_be_hidden()
    shown = messages_in(page)
    assert [seq for seq, _, _ in shown] == list(range(1, 121))
    assert [text for _, _, text in shown] == [f"history message {i}" for i in range(1, 121)]
    assert all(author == "carol" for _, author, _ in shown)


def test_scrollback__the_older_button_works_from_the_keyboard(open_page):
    page = open_page(None, "/chat/history/")
    expect(page.locator("#messages > li")).to_have_count(50)
    page.locator("#older").focus()
    page.keyboard.press("Enter")
    # The older page arrives; when the log then sits at its top, scrolling may load the next
    # one as well (a short window): what matters is one contiguous run ending at 120.
    wait_for_js(page, "document.querySelectorAll('#messages > li').length >= 100")
    seqs = [seq for seq, _, _ in messages_in(page)]
    assert seqs == list(range(seqs[0], 121)) and seqs[0] <= 21
