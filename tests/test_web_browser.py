"""A reader signs up in headless Chromium (Debian's `chromium`, driven by Playwright with its
executable path set) and follows the confirmation link from the email."""

from __future__ import annotations

import re

import pytest

from tests.test_web import local, site, smtp  # noqa: F401 - the fixtures of the HTTP tests

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    return browser.new_page()


def test_a_reader_signs_up_in_a_browser_and_confirms_from_the_email(site, page):  # noqa: F811
    page.goto(site.url + "/subscribe")
    assert "every Friday" in page.text_content("main")
    page.fill("#email", "browser.reader@example.com")
    page.fill("#name", "Bea")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your inbox")
    assert site.store.subscribers.get("browser.reader@example.com").status == "pending"

    [mail] = site.inbox.wait_for("browser.reader@example.com")
    link = re.search(r"https://news\.example\.org/confirm/\S+", mail.get_content()).group(0)
    page.goto(local(site, link))
    assert site.store.subscribers.get("browser.reader@example.com").status == "pending", "GET alone never confirms"
    page.click("text=Confirm my subscription")
    page.wait_for_selector("text=You are subscribed")
    assert site.store.subscribers.get("browser.reader@example.com").status == "active"

    # and the preferences link on that page works in the browser too
    page.click("text=Choose the countries and topics")
    page.check("input[value=UA]")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Saved.")
    assert site.store.subscribers.get("browser.reader@example.com").countries == ("UA",)
