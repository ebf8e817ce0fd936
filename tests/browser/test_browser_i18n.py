"""The interface follows the browser's language, and the footer switch overrides it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

EVENT = "/veranstaltungen/fachtag-migration-2025"
GERMAN_DATE = re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b")  # 24.11.2026
ENGLISH_DATE = re.compile(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b")  # Nov 24, 2026


@pytest.fixture(scope="module")
def fresh_demand(live) -> int:
    """A demand raised today: its page shows the target date of the current state."""
    return live.make_demand("Sprachkurse für alle Geflüchteten öffnen", bodies={"ms": "lead"})


def test_german_browser_gets_german(new_context, fresh_demand, shot):
    page = new_context(locale="de-DE").new_page()
    page.goto(EVENT)
    assert page.locator("html").get_attribute("lang") == "de"
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Forderungen")).to_be_visible()
    expect(page.locator(".demand__meta")).to_contain_text("18.06.2025")
    page.goto(f"/forderungen/{fresh_demand}")
    target = page.locator(".demand__meta .standing").inner_text()
    assert re.search(r"Ziel: " + GERMAN_DATE.pattern, target), target
    expect(page.get_by_role("heading", name="Die Forderung")).to_be_visible()
    shot(page, "i18n-de-demand")


def test_english_browser_gets_english(new_context, fresh_demand, shot):
    page = new_context(locale="en-US").new_page()
    page.goto(EVENT)
    assert page.locator("html").get_attribute("lang") == "en"
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Demands")).to_be_visible()
    expect(page.locator(".demand__meta")).to_contain_text("Jun 18, 2025")
    page.goto(f"/forderungen/{fresh_demand}")
    target = page.locator(".demand__meta .standing").inner_text()
    assert re.search(r"Target: " + ENGLISH_DATE.pattern, target), target
    assert not GERMAN_DATE.search(target)
    shot(page, "i18n-en-demand")


def test_footer_switch_overrides_the_browser_language(new_context, shot):
    page = new_context(locale="en-US").new_page()
    page.goto("/stellen/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Responsible bodies")
    footer = page.get_by_role("contentinfo").get_by_role("navigation", name="Language")
    expect(footer.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    footer.get_by_role("link", name="Deutsch").click()
    expect(page).to_have_url(re.compile(r"/stellen/$"))  # back on the same page
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zuständige Stellen")

    # The choice sticks for the rest of the visit, over the browser's English.
    page.goto(EVENT)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".demand__meta")).to_contain_text("18.06.2025")
    shot(page, "i18n-switched-to-de")

    page.get_by_role("contentinfo").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".demand__meta")).to_contain_text("Jun 18, 2025")
