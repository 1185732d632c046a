"""The API tokens page in Chromium: make a token (shown once), post with it from a script
into a room open in the browser, revoke it."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def post_with(url, token, room, text):
    request = urllib.request.Request(
        f"{url}/api/rooms/{room}/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_tokens_page__create_post_from_a_script_revoke(open_page, chat_server):
    room = open_page("alice", "/chat/bot-corner/")
    expect(room.locator("#status")).to_have_attribute("data-state", "connected")
    page = open_page("alice", "/")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    page.get_by_label("Token name").fill("page bot")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("chat_")
    expect(page.get_by_role("row", name="page bot")).to_be_visible()

    assert post_with(chat_server.url, token, "bot-corner", "hello from a script") == 201
    expect(room.locator("#messages .body")).to_have_text(["hello from a script"])

    page.goto("/account/tokens/")  # shown once: the page no longer holds it
    expect(page.get_by_label("Your new token")).to_have_count(0)
    page.get_by_role("button", name="Revoke page bot").click()
    expect(page.locator("#notices")).to_contain_text("was revoked")
    expect(page.get_by_text("You hold no tokens.")).to_be_visible()
    assert post_with(chat_server.url, token, "bot-corner", "again?") == 401
    assert page.errors == [] and room.errors == []
