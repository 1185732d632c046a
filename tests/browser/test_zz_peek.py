import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_peek(open_page):
    for w, h, tag in ((1280, 800, "d"), (360, 740, "p")):
        page = open_page("alice", "/chat/history/", viewport={"width": w, "height": h})
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
        page.wait_for_timeout(500)
        page.screenshot(path=f"/tmp/peek-room-{tag}.png")
        page.goto("/")
        page.screenshot(path=f"/tmp/peek-index-{tag}.png")
        if tag == "p":
            page.locator("#sidebar-toggle").click()
            page.wait_for_timeout(200)
            page.screenshot(path=f"/tmp/peek-side-{tag}.png")
            page.locator("#search-toggle").click()
            page.wait_for_timeout(200)
            page.screenshot(path=f"/tmp/peek-search-{tag}.png")
        print(page.errors)
