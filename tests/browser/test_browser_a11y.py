"""Accessibility: axe-core finds nothing on any page type; the keyboard reaches everything, visibly.

Every page type is checked in the state people meet it in, with and without form errors. The rule
counts (passes + violations + incomplete + inapplicable) go to tests/artifacts/axe/<page>.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from browserkit import ARTIFACTS, shot
from playwright.sync_api import expect

EVENT = "fachtag-migration-2025"


@dataclass
class Data:
    """What the pages below need: a demand with a rich timeline, ids and an answer link."""

    demand: int
    body: int
    token: str
    message: int
    admin: int


@pytest.fixture(scope="module")
def data(live) -> Data:
    import sqlalchemy as sa

    from tracker.models import Assignment, Body, OutboxMessage, User
    from tracker.services import demands, statements

    demand_id = live.make_demand(
        "Sprachmittlung in Behörden sicherstellen",
        bodies={"ms": "lead", "mi": "involved"},
        text="Behörden sollen Sprachmittlung selbst organisieren und bezahlen.\n\nZweiter Absatz.",
    )
    live.advance(demand_id, "address", note="Im Jour fixe besprochen.")
    with live.request_ctx() as session:
        user = session.scalar(sa.select(User).where(User.email == "referentin@example.org"))
        body = session.scalar(sa.select(Body).where(Body.slug == "ms"))
        assignment = session.scalar(
            sa.select(Assignment).where(
                Assignment.demand_id == demand_id, Assignment.body_id == body.id
            )
        )
        demands.add_update(assignment.demand, user, "Gespräch am 3. Juli vereinbart.", is_public=True)
        demands.add_update(assignment.demand, user, "Nur für uns: Ansprechpartner gewechselt.",
                           is_public=False)
        statements.add_statement(body, assignment, "Wir prüfen das.", "Referat 34")
        message = session.scalar(sa.select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
        admin = session.scalar(sa.select(User.id).where(User.role == "admin"))
        body_id = body.id
    return Data(demand=demand_id, body=body_id, token=live.answer_token("ms"), message=message,
                admin=admin)


def submit(page, button: str, status: int, form: str = "main form") -> None:
    """Click ``button`` in ``form`` and check the answer's status (errors are 4xx, not 200)."""
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.locator(form).get_by_role("button", name=button).click()
    assert response.value.status == status, response.value.url
    page.wait_for_load_state()


# Each page type: (who, how to get there). Actions that submit forms check the status they get.
Visit = Callable[[object, Data], None]
PAGES: dict[str, tuple[str | None, Visit]] = {
    # public
    "overview": (None, lambda p, d: p.goto("/")),
    "overview-filtered": (None, lambda p, d: p.goto(
        f"/?q=Forderung&state=open&topic=&body=ms&event={EVENT}")),
    "overview-no-match": (None, lambda p, d: p.goto("/?q=gibt-es-sicher-nicht")),
    "demand": (None, lambda p, d: p.goto(f"/forderungen/{d.demand}")),
    "demand-follow-errors": (None, lambda p, d: (
        p.goto(f"/forderungen/{d.demand}"), submit(p, "Per E-Mail folgen", 422, "form.follow"))),
    "bodies": (None, lambda p, d: p.goto("/stellen/")),
    "body": (None, lambda p, d: p.goto("/stellen/ms")),
    "events": (None, lambda p, d: p.goto("/veranstaltungen/")),
    "event": (None, lambda p, d: p.goto(f"/veranstaltungen/{EVENT}")),
    "statistics": (None, lambda p, d: p.goto("/statistik")),
    "report": (None, lambda p, d: p.goto(f"/berichte/{EVENT}")),
    "workflow": (None, lambda p, d: p.goto("/ablauf")),
    "login": (None, lambda p, d: p.goto("/anmelden")),
    "login-empty": (None, lambda p, d: (p.goto("/anmelden"), submit(p, "Anmelden", 422))),
    "login-wrong-password": (None, lambda p, d: (
        p.goto("/anmelden"),
        p.get_by_label("E-Mail-Adresse").fill("referentin@example.org"),
        p.get_by_label("Passwort", exact=True).fill("falsch-falsch-falsch"),
        submit(p, "Anmelden", 401))),
    "answer": (None, lambda p, d: p.goto(f"/antwort/{d.token}")),
    "answer-errors": (None, lambda p, d: (
        p.goto(f"/antwort/{d.token}"),
        p.locator(f"#forderung-{d.demand} summary").click(),
        submit(p, "Stellungnahme senden", 422, f"#forderung-{d.demand} form[action$=stellungnahme]"))),
    "answer-invalid-link": (None, lambda p, d: p.goto("/antwort/kein-gueltiger-link")),
    "not-found": (None, lambda p, d: p.goto("/gibt-es-nicht")),
    # staff
    "staff-demands": ("staff", lambda p, d: p.goto("/verwaltung/")),
    "staff-new-demand": ("staff", lambda p, d: p.goto("/verwaltung/forderungen/neu")),
    "staff-new-demand-errors": ("staff", lambda p, d: (
        p.goto("/verwaltung/forderungen/neu"), submit(p, "Forderung anlegen", 422))),
    "staff-demand": ("staff", lambda p, d: p.goto(f"/verwaltung/forderungen/{d.demand}")),
    "staff-demand-failed-transition": ("staff", lambda p, d: (
        p.goto(f"/verwaltung/forderungen/{d.demand}"),
        submit(p, "Evaluation festhalten", 422, "form[action$='/schritt/evaluate']"))),
    "staff-demand-refused-transition": ("staff", lambda p, d: (
        p.goto(f"/verwaltung/forderungen/{d.demand}"),
        p.locator("form[action$='/schritt/close']").get_by_label("umgesetzt", exact=True).check(),
        submit(p, "Abschließen", 422, "form[action$='/schritt/close']"))),
    "staff-demand-update-errors": ("staff", lambda p, d: (
        p.goto(f"/verwaltung/forderungen/{d.demand}"),
        submit(p, "Eintragen", 422, "form[action$='/stand']"))),
    "staff-public-demand": ("staff", lambda p, d: p.goto(f"/forderungen/{d.demand}")),
    "staff-bodies": ("staff", lambda p, d: p.goto("/verwaltung/stellen/")),
    "staff-body": ("staff", lambda p, d: p.goto(f"/verwaltung/stellen/{d.body}")),
    "staff-body-contact-errors": ("staff", lambda p, d: (
        p.goto(f"/verwaltung/stellen/{d.body}"),
        submit(p, "Hinzufügen", 422, "form[action$='/kontakte']"))),
    "staff-new-body-errors": ("staff", lambda p, d: (
        p.goto("/verwaltung/stellen/neu"), submit(p, "Speichern", 422))),
    "staff-pauses": ("staff", lambda p, d: p.goto(f"/verwaltung/stellen/{d.body}/pausen")),
    "staff-pauses-errors": ("staff", lambda p, d: (
        p.goto(f"/verwaltung/stellen/{d.body}/pausen"), submit(p, "Eintragen", 422))),
    "staff-tokens": ("staff", lambda p, d: p.goto("/verwaltung/api-tokens")),
    "staff-tokens-errors": ("staff", lambda p, d: (
        p.goto("/verwaltung/api-tokens"), submit(p, "Token erstellen", 422))),
    "staff-reminders": ("staff", lambda p, d: p.goto("/verwaltung/erinnerungen")),
    "staff-outbox": ("staff", lambda p, d: p.goto("/verwaltung/postausgang")),
    "staff-outbox-message": ("staff", lambda p, d: p.goto(f"/verwaltung/postausgang/{d.message}")),
    "staff-import": ("staff", lambda p, d: p.goto("/verwaltung/import")),
    "staff-import-errors": ("staff", lambda p, d: (
        p.goto("/verwaltung/import"), submit(p, "Prüfen und importieren", 422))),
    "staff-logout": ("staff", lambda p, d: p.goto("/abmelden")),
    # admin
    "admin-users": ("admin", lambda p, d: p.goto("/verwaltung/benutzer/")),
    "admin-users-errors": ("admin", lambda p, d: (
        p.goto("/verwaltung/benutzer/"), submit(p, "Konto anlegen", 422))),
    "admin-user": ("admin", lambda p, d: p.goto(f"/verwaltung/benutzer/{d.admin}")),
}

AXE_DIR = ARTIFACTS / "axe"


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


DUPLICATES = """() => {
  const count = {};
  for (const el of document.querySelectorAll('[id]')) count[el.id] = (count[el.id] || 0) + 1;
  const ids = Object.keys(count).filter(id => count[id] > 1);
  const labels = {};
  for (const label of document.querySelectorAll('label')) {
    const target = label.control; if (!target) continue;
    labels[target.id || target.name] = (labels[target.id || target.name] || 0) + 1;
  }
  return {ids, labelled_twice: Object.keys(labels).filter(k => labels[k] > 1)};
}"""


@pytest.fixture(scope="module")
def role_page(browser, live, _sessions):
    """One page per role (anonymous, staff, admin), reused across the page types."""
    from browserkit import DESKTOP

    pages = {}

    def get(role):
        if role not in pages:
            context = browser.new_context(
                base_url=live.url, locale="de-DE", timezone_id="Europe/Berlin", viewport=DESKTOP,
                storage_state=_sessions[role] if role else None,
            )
            context.set_default_timeout(10_000)
            pages[role] = context.new_page()
        return pages[role]

    yield get
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_violations(name, role_page, axe, data):
    role, visit = PAGES[name]
    page = role_page(role)
    visit(page, data)
    expect(page.locator("h1")).to_have_count(1)
    results = axe.run(page).response
    rules = {r["id"] for key in ("passes", "violations", "incomplete", "inapplicable")
             for r in results[key]}
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    (AXE_DIR / f"{name}.json").write_text(json.dumps({
        "url": page.url,
        "axe": results["testEngine"]["version"],
        "rules_run": len(rules),
        "violations": [v["id"] for v in results["violations"]],
        "incomplete": [v["id"] for v in results["incomplete"]],
    }, indent=2))
    print(f"{name}: axe {results['testEngine']['version']} ran {len(rules)} rules")
    if results["violations"]:
        shot(page, f"axe-{name}")
    assert not results["violations"], f"{name} ({page.url}):\n" + describe(results["violations"])
    # axe 4.12 no longer reports duplicate ids as violations; a label must name one control only
    assert page.evaluate(DUPLICATES) == {"ids": [], "labelled_twice": []}, name


# Keyboard -------------------------------------------------------------------------------------

FOCUSABLE = """() => Array.from(document.querySelectorAll(
  'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]'))
  .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length
                && getComputedStyle(el).visibility !== 'hidden')"""

FOCUS_STYLE = """el => { const s = getComputedStyle(el);
  return {outline: s.outlineStyle !== 'none' ? s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor : 'none',
          shadow: s.boxShadow}; }"""


def test_keyboard_reaches_everything_with_a_visible_focus(page):
    page.goto("/?state=open")
    total = page.evaluate(f"({FOCUSABLE})().length")
    assert total > 20

    # The skip link comes first and moves the focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_class("skip-link")
    expect(page.locator(":focus")).to_be_in_viewport()
    shot(page, "keyboard-skip-link", full_page=False)
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("inhalt")

    # From the top, Tab visits every interactive element once, and each shows where focus is.
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    page.goto("/?state=open")
    page.evaluate(f"window.__all = ({FOCUSABLE})(); window.__seen = []")
    without_indicator = []
    for _ in range(total + 5):
        page.keyboard.press("Tab")
        step = page.evaluate(f"""() => {{
            const el = document.activeElement;
            if (!el || el === document.body || window.__seen.includes(el)) return null;
            window.__seen.push(el);
            const focused = ({FOCUS_STYLE})(el);
            return {{index: window.__all.indexOf(el), focused,
                     label: el.tagName + ' ' + (el.id || el.getAttribute('href') || el.textContent.trim().slice(0, 40))}};
        }}""")
        if step is None:
            break
        if step["focused"]["outline"] == "none" and step["focused"]["shadow"] == "none":
            without_indicator.append(step["label"])
    reached = page.evaluate("window.__seen.length")
    missed = page.evaluate("""() => window.__all.filter(el => !window.__seen.includes(el))
        .map(el => el.tagName + ' ' + (el.id || el.getAttribute('href') || el.textContent.trim().slice(0, 40)))""")
    assert not missed, f"not reachable with Tab: {missed}"
    assert reached == total
    assert not without_indicator, f"no visible focus indicator: {without_indicator}"

    # The indicator is a change: unfocused, the same elements show neither outline nor ring.
    page.evaluate("document.activeElement.blur()")
    unchanged = page.evaluate(f"""() => window.__seen.filter(el => {{
        const s = ({FOCUS_STYLE})(el);
        return s.outline !== 'none' || s.shadow !== 'none';
    }}).map(el => el.tagName + ' ' + (el.id || el.getAttribute('href')))""")
    assert not unchanged, f"outline/ring also without focus, so focus is not visible: {unchanged}"


def test_focus_indicator_on_form_controls(staff_page):
    """Inputs, selects, radios, checkboxes and buttons on a staff form show focus too."""
    page = staff_page
    page.goto("/verwaltung/forderungen/neu")
    controls = page.locator("main").locator("input:not([type=hidden]), select, textarea, button")
    assert controls.count() >= 5
    page.locator("main h1").click()  # start inside main, as a keyboard user after the skip link
    seen = 0
    for _ in range(controls.count() + 10):
        page.keyboard.press("Tab")
        info = page.evaluate(f"""() => {{ const el = document.activeElement;
            if (!el.closest('main')) return null;
            return {{tag: el.tagName, type: el.type || '', focused: ({FOCUS_STYLE})(el),
                     visible: el.matches(':focus-visible')}}; }}""")
        if info is None:
            break
        seen += 1
        assert info["visible"], info
        assert info["focused"]["outline"] != "none" or info["focused"]["shadow"] != "none", info
        assert re.match(r"solid (\d+(\.\d+)?)px", info["focused"]["outline"]), info
    assert seen >= controls.count()
