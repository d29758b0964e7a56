"""The editors' desk in headless Chromium (Debian's `chromium`, driven by Playwright with its executable
path set; no browser download), used as an editor would: sign in, search, pick, reorder, pitch, preview
as a subscriber, send a test to oneself and read it back from the SMTP sink. Then the same essentials
without JavaScript, axe-core over the page (no serious or critical violation) and the page at 375 px.

FEEDPIPE_DESK_SCREENSHOTS=<folder> also saves desk-1280.png and desk-375.png there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedpipe.digest.build import build_edition
from tests.digest_support import WEEK, week_of_articles
from tests.test_desk import EDITOR, PASSWORD, desk  # noqa: F401 - the desk fixture
from tests.test_web import site, smtp  # noqa: F401 - the fixtures of the HTTP tests

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.browser

RUBLE, OIL, TBILISI = ("Ruble Slides To Two-Year Low", "Kazakhstan Reroutes Oil Exports",
                       "Thousands Rally In Tbilisi")


def id_of(title: str) -> str:
    return next(a.id for a in week_of_articles() if a.title == title)


def sign_in(page, running) -> None:
    page.goto(running.url + "/desk/")
    page.get_by_label("Email address").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1:has-text('Edition 2026-W48')")


def picked_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("ol.picks li .title").all_inner_texts()]


def swapped(page, click) -> None:
    """Press a button of an inline form, and wait until the script has put the new stories in place.
    (The desk's CSP allows no eval, so the waits are selectors, not wait_for_function.)"""
    page.evaluate("document.getElementById('work').setAttribute('data-old', '1')")
    click()
    page.wait_for_selector("#work:not([data-old])", state="attached")


def pick(page, title: str, count: int) -> None:
    swapped(page, page.get_by_role("button", name=f"Pick {title}").click)
    assert page.locator("ol.picks li").count() == count


def test_an_editor_shapes_the_edition_previews_it_and_sends_a_test_to_themselves(desk, browser, tmp_path):  # noqa: F811
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, desk)

    page.get_by_label("Search title and text").fill("ruble")
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#count:has-text('1 of 12 stories match')")
    pick(page, RUBLE, 1)
    page.get_by_role("link", name="Clear").click()
    pick(page, OIL, 2)
    pick(page, TBILISI, 3)
    assert picked_titles(page) == [RUBLE, OIL, TBILISI]

    swapped(page, page.get_by_role("button", name=f"move {TBILISI} up").click)
    assert picked_titles(page) == [RUBLE, TBILISI, OIL]
    assert page.evaluate("document.activeElement.getAttribute('data-key')") == f"up-{id_of(TBILISI)}", \
        "the focus stays on the button the editor pressed"

    page.get_by_label("Pitch").nth(2).fill("Where the oil goes now")
    swapped(page, page.get_by_role("button", name=f"Save pitch for {OIL}").click)
    assert page.locator(f"#pitch-{id_of(OIL)}").get_attribute("value") == "Where the oil goes now"

    page.locator("aside.preview").get_by_label("Subscriber follows country").select_option("UA")
    page.locator("aside.preview").get_by_role("button", name="Preview as this subscriber").click()
    frame = page.frame_locator("#preview-frame")
    frame.get_by_role("link", name="Grain Corridor Talks Resume").wait_for()
    assert frame.locator("text=Where the oil goes now").count() == 1, "picks and pitches are in every edition"
    assert frame.locator("text=Lavrov To Visit Minsk").count() == 0, "not about Ukraine"
    page.get_by_role("link", name="Preview at 600 px and 375 px").click()
    assert page.locator("iframe[width='600']").count() == 1 and page.locator("iframe[width='375']").count() == 1
    page.go_back()

    page.get_by_role("button", name="Send a test to me").click()
    page.wait_for_selector("text=A test copy went to ed@example.org.")
    [mail] = desk.inbox.wait_for(EDITOR)
    html = mail.get_body(("html",)).get_content()
    at = [html.index(t) for t in (RUBLE, TBILISI, OIL)]
    assert at == sorted(at) and "Where the oil goes now" in html

    s = desk.app.settings
    built = build_edition(desk.store, s.digest, s.feeds_public_url, WEEK, desk.clock(), tmp_path).read_text()
    at = [built.index(t) for t in (RUBLE, TBILISI, OIL)]
    assert at == sorted(at) and "Where the oil goes now" in built
    assert [e.action for e in desk.store.edition_log.entries(WEEK)] == [
        "pick", "pick", "pick", "order", "pitch", "test"]


def test_picking_and_ordering_work_without_javascript(desk, browser):  # noqa: F811
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, desk)
    for title in (RUBLE, OIL):
        page.get_by_role("button", name=f"Pick {title}").click()
        page.wait_for_load_state()
    page.get_by_role("button", name=f"move {RUBLE} down").click()
    page.wait_for_load_state()
    assert picked_titles(page) == [OIL, RUBLE]
    page.get_by_role("button", name=f"Unpick {OIL}").click()
    page.wait_for_load_state()
    assert picked_titles(page) == [RUBLE]
    assert [p.article_id for p in desk.store.editions.picks(WEEK)] == [id_of(RUBLE)]
    assert page.get_by_role("link", name="Preview at 600 px and 375 px").count() == 1


@pytest.mark.parametrize("width", [1280, 375])
def test_the_desk_passes_axe_and_fits_the_screen(desk, browser, width):  # noqa: F811
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: make test-setup (npm ci in tests/axe)")
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, desk)
    pick(page, RUBLE, 1)
    pick(page, OIL, 2)
    page.get_by_label("Pitch").first.fill("Why the ruble matters")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == []
    unnamed = page.evaluate("""[...document.querySelectorAll('main input:not([type=hidden]), main select, main button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map(e => e.outerHTML)""")
    assert unnamed == [], "every control has a label"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
    if width == 375:
        box = page.get_by_role("button", name=f"move {RUBLE} down").bounding_box()
        assert box is not None and box["x"] + box["width"] <= width and box["height"] >= 24, "reachable and tappable"
    folder = os.environ.get("FEEDPIPE_DESK_SCREENSHOTS")
    if folder:
        page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
        page.screenshot(path=str(Path(folder) / f"desk-{width}.png"), full_page=width == 375)
