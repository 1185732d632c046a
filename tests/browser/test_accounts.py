"""Accounts: a guest reads and is invited to log in; sign up, post, log out, log in."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def test_accounts__sign_up_post_log_out_and_log_in_again(open_page):
    page = open_page(None, "/chat/welcome/")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#composer")).to_have_count(0)
    expect(page.locator("#invite")).to_contain_text("reading as a guest")

    page.locator("#invite").get_by_role("link", name="sign up").click()
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    screenshot(page, "signup.png")
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/chat/welcome/$"))
    expect(page.locator("#whoami")).to_have_text("dora")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    page.get_by_label("Message #welcome").fill("dora was here")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages li.mine .body")).to_have_text(["dora was here"])

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/chat/welcome/")
    expect(page.locator("#messages li .body")).to_have_text(["dora was here"])
    expect(page.locator("#messages li.mine")).to_have_count(0)

    page.locator("#invite").get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/chat/welcome/$"))
    expect(page.locator("#messages li.mine .body")).to_have_text(["dora was here"])


def test_accounts__a_wrong_password_says_so(open_page):
    page = open_page(None, "/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    screenshot(page, "login.png")
