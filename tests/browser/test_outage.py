"""Redis stops and starts while pages are open: they reconnect, resume, and lose nothing."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import messages_in, screenshot, wait_for_js

pytestmark = pytest.mark.browser

# Records every state the status line goes through, with the close code behind it.
RECORD_STATES = """() => {
  window.states = [];
  const status = document.getElementById("status");
  new MutationObserver(() => {
    const entry = [status.dataset.state, status.dataset.code];
    const last = states[states.length - 1];
    if (!last || last[0] !== entry[0] || last[1] !== entry[1]) states.push(entry);
  }).observe(status, { attributes: true, attributeFilter: ["data-state", "data-code"] });
}"""
# A reconnect attempt refused while Redis is away: reconnecting, connecting, then reconnecting.
REFUSED_ONCE = """() => {
  const kinds = states.map(([state]) => state);
  const first = kinds.indexOf("reconnecting");
  return first >= 0 && kinds.indexOf("reconnecting", kinds.indexOf("connecting", first)) > 0;
}"""
COUNTDOWN = """() => document.getElementById("status").dataset.state === "reconnecting"
  && /^Reconnecting in \\d+ s$/.test(document.getElementById("status-text").textContent)"""


def test_redis_outage__status_reconnects_and_a_message_typed_meanwhile_arrives_once(
    open_page, chat_server
):
    alice = open_page("alice", "/chat/outage/")
    bob = open_page("bob", "/chat/outage/")
    for page in (alice, bob):
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
        page.evaluate(RECORD_STATES)
    alice.locator("#text").fill("before the outage")
    alice.locator("#text").press("Enter")
    expect(bob.locator("#messages .body")).to_have_text(["before the outage"])

    chat_server.redis.stop()
    try:
        wait_for_js(alice, COUNTDOWN, timeout=20_000)
        alice.locator("#text").fill("typed during the outage")
        alice.locator("#text").press("Enter")
        expect(alice.locator("#outbox li.pending .body")).to_have_text("typed during the outage")
        wait_for_js(alice, COUNTDOWN, timeout=20_000)
        screenshot(alice, "reconnecting.png")
        for page in (alice, bob):
            wait_for_js(page, REFUSED_ONCE, timeout=30_000)
    finally:
        chat_server.redis.start()

    for page in (alice, bob):
        expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=40_000)
        expect(page.locator("#status-text")).to_have_text("Connected")
        expect(page.locator("#messages .body")).to_have_text(
            ["before the outage", "typed during the outage"], timeout=15_000
        )
        expect(page.locator("#outbox li")).to_have_count(0)
        seqs = [seq for seq, _, _ in messages_in(page)]
        assert seqs == sorted(set(seqs)), seqs  # in order, nothing twice
        states = page.evaluate("states")
        codes = [code for state, code in states if state == "reconnecting"]
        assert codes[0] == "4012", states  # the contract: Redis lost closes with 4012
        assert set(codes) <= {"4012", "4013"}, states  # never 1011, never 1006
    expect(alice.locator("#presence .name")).to_have_text(["alice", "bob"])

    bob.locator("#text").fill("after the outage")
    bob.locator("#text").press("Enter")
    expect(alice.locator("#messages .body")).to_have_text(
        ["before the outage", "typed during the outage", "after the outage"]
    )
    assert alice.errors == [] and bob.errors == []
