"""Helpers of the browser tests: logging in, reading a room page, screenshots for docs/."""

import re
import time
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-Browser-7f3a-secret"
HOME = re.compile(r"^https?://[^/]+/$")


def log_in(page, user, password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(HOME)


def wait_for_js(page, expression, timeout=10_000):
    """Poll expression (a JS expression or function) until it is truthy, at most timeout ms.

    Not page.wait_for_function: when its first check is false it polls inside the page by
    evaluating the text, which the pages' Content-Security-Policy (no 'unsafe-eval')
    refuses, so the wait failed only when the machine was slow. page.evaluate is not
    subject to the page's CSP."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} ms: {expression}")
        page.wait_for_timeout(50)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def messages_in(page):
    """[(seq, author, text)] of the messages a room page shows, in page order."""
    return page.eval_on_selector_all(
        "#messages > li",
        "items => items.map(li => [Number(li.dataset.seq),"
        " li.querySelector('.author').textContent, li.querySelector('.body').textContent])",
    )
