"""Accessibility: axe-core finds nothing on any page type; the keyboard reaches everything, visibly.

Every page type is checked in the state people meet it in, with and without form errors. The rule
counts (passes + violations + incomplete + inapplicable) go to artifacts/axe/<page>.json in the
session's pytest temporary directory (the ``artifacts`` fixture).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from browserkit import DESKTOP
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
    closed: int


@pytest.fixture(scope="module")
def data(live) -> Data:
    import datetime as dt

    import sqlalchemy as sa

    from tracker.domain.models import Assignment, Body, OutboxMessage, User
    from tracker.services import answers, demands, statements

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
        demands.add_update(
            assignment.demand, user, "Gespräch am 3. Juli vereinbart.", is_public=True
        )
        demands.add_update(
            assignment.demand, user, "Nur für uns: Ansprechpartner gewechselt.", is_public=False
        )
        statements.add_statement(body, assignment, "Wir prüfen das.", "Referat 34")
        # issue 13: a commitment, a classified statement naming the competent body
        mi = session.scalar(sa.select(Body).where(Body.slug == "mi"))
        given = statements.add_statement(
            body,
            assignment,
            "Dafür ist das Innenministerium zuständig.",
            file_reference="MS-34/2026",
            committed_until=dt.date.today() + dt.timedelta(days=20),
            competent_body=mi,
        )
        answers.classify(given, "not_responsible", user)
        session.commit()
        message = session.scalar(sa.select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
        admin = session.scalar(sa.select(User.id).where(User.role == "admin"))
        body_id = body.id
    # a demand closed as implemented long ago: its re-check is due; and one repeating it
    closed_id = live.make_demand("Beratungsstellen dauerhaft finanzieren", bodies={"ms": "lead"})
    live.advance(closed_id, "address")
    live.advance(closed_id, "evaluate", summary="Ausgewertet", participants="LIGA, MS")
    live.advance(closed_id, "close", outcome="implemented")
    with live.request_ctx() as session:
        from tracker.domain.models import Demand
        from tracker.services import repeats

        closed = session.get(Demand, closed_id)
        closed.state_changed_at = closed.state_changed_at - dt.timedelta(days=400)
        repeats.set_repeats(session.get(Demand, demand_id), closed, None, None)
        session.commit()
    return Data(
        demand=demand_id,
        body=body_id,
        token=live.answer_token("ms"),
        message=message,
        admin=admin,
        closed=closed_id,
    )


@dataclass(frozen=True)
class Case:
    """A page type: who looks at it, where, and (for error states) which form is sent wrongly."""

    role: str | None
    path: str  # formatted with the fields of Data
    button: str | None = None  # send this button's form as it is, or after ``fill``/``check``
    form: str = "main form"
    status: int = 422
    fill: tuple[tuple[str, str], ...] = ()
    check: str | None = None  # a radio button's exact label
    open: str | None = None  # a <summary> to click first

    def visit(self, page, data: Data) -> None:
        values = vars(data)
        page.goto(self.path.format(**values))
        if self.button is None:
            return
        if self.open:
            page.locator(self.open.format(**values)).click()
        form = page.locator(self.form.format(**values))
        for label, value in self.fill:
            form.get_by_label(label, exact=True).fill(value)
        if self.check:
            form.get_by_label(self.check, exact=True).check()
        with page.expect_response(lambda r: r.request.method == "POST") as response:
            form.get_by_role("button", name=self.button).click()
        assert response.value.status == self.status, response.value.url
        page.wait_for_load_state()


DEMAND = "/verwaltung/forderungen/{demand}"
ANSWER_FORM = "#forderung-{demand} form[action$=stellungnahme]"
PAGES = {
    # public
    "overview": Case(None, "/"),
    "overview-filtered": Case(None, f"/?q=Forderung&state=open&topic=&body=ms&event={EVENT}"),
    "overview-no-match": Case(None, "/?q=gibt-es-sicher-nicht"),
    "demand": Case(None, "/forderungen/{demand}"),
    "follow": Case(None, "/forderungen/{demand}/folgen"),
    "demand-follow-errors": Case(
        None, "/forderungen/{demand}/folgen", "Per E-Mail folgen", form="form.follow"
    ),
    "bodies": Case(None, "/stellen/"),
    "body": Case(None, "/stellen/ms"),
    "events": Case(None, "/veranstaltungen/"),
    "event": Case(None, f"/veranstaltungen/{EVENT}"),
    "statistics": Case(None, "/statistik"),
    "report": Case(None, f"/berichte/{EVENT}"),
    "workflow": Case(None, "/ablauf"),
    "consultations": Case(None, "/beteiligungen"),
    "dialogue": Case(None, "/dialog"),
    "login": Case(None, "/anmelden"),
    "login-empty": Case(None, "/anmelden", "Anmelden"),
    "login-wrong-password": Case(
        None,
        "/anmelden",
        "Anmelden",
        status=401,
        fill=(
            ("E-Mail-Adresse (Pflichtangabe)", "referentin@example.org"),
            ("Passwort (Pflichtangabe)", "falsch-falsch"),
        ),
    ),
    "answer": Case(None, "/antwort/{token}"),
    "answer-errors": Case(
        None,
        "/antwort/{token}",
        "Stellungnahme senden",
        form=ANSWER_FORM,
        open="#forderung-{demand} summary",
    ),
    "answer-invalid-link": Case(None, "/antwort/kein-gueltiger-link"),
    "not-found": Case(None, "/gibt-es-nicht"),
    # staff
    "staff-demands": Case("staff", "/verwaltung/"),
    "staff-new-demand": Case("staff", "/verwaltung/forderungen/neu"),
    "staff-new-demand-errors": Case("staff", "/verwaltung/forderungen/neu", "Forderung anlegen"),
    "staff-demand": Case("staff", DEMAND),
    "staff-demand-failed-transition": Case(
        "staff", DEMAND, "Evaluation festhalten", form="form[action$='/schritt/evaluate']"
    ),
    "staff-demand-refused-transition": Case(
        "staff", DEMAND, "Abschließen", form="form[action$='/schritt/close']", check="umgesetzt"
    ),
    "staff-demand-update-errors": Case("staff", DEMAND, "Eintragen", form="form[action$='/stand']"),
    "staff-public-demand": Case("staff", "/forderungen/{demand}"),
    # the second statement is not classified yet: sent with „– bitte wählen –“ it is refused
    "staff-demand-classify-errors": Case(
        "staff", DEMAND, "Einordnen", form="form[action$='/einordnen'] >> nth=1"
    ),
    "staff-demand-recheck": Case("staff", "/verwaltung/forderungen/{closed}"),
    "staff-demand-recheck-errors": Case(
        "staff",
        "/verwaltung/forderungen/{closed}",
        "Nachprüfung eintragen",
        form="form[action$='/nachpruefung']",
    ),
    "demand-closed": Case(None, "/forderungen/{closed}"),
    "staff-bodies": Case("staff", "/verwaltung/stellen/"),
    "staff-body": Case("staff", "/verwaltung/stellen/{body}"),
    "staff-body-contact-errors": Case(
        "staff", "/verwaltung/stellen/{body}", "Hinzufügen", form="form[action$='/kontakte']"
    ),
    "staff-new-body-errors": Case("staff", "/verwaltung/stellen/neu", "Speichern"),
    "staff-pauses": Case("staff", "/verwaltung/stellen/{body}/pausen"),
    "staff-pauses-errors": Case("staff", "/verwaltung/stellen/{body}/pausen", "Eintragen"),
    "staff-tokens": Case("staff", "/verwaltung/api-tokens"),
    "staff-tokens-errors": Case("staff", "/verwaltung/api-tokens", "Token erstellen"),
    "staff-reminders": Case("staff", "/verwaltung/erinnerungen"),
    "staff-outbox": Case("staff", "/verwaltung/postausgang"),
    "staff-outbox-message": Case("staff", "/verwaltung/postausgang/{message}"),
    "staff-import": Case("staff", "/verwaltung/import"),
    "staff-import-errors": Case("staff", "/verwaltung/import", "Prüfen und importieren"),
    "staff-logout": Case("staff", "/abmelden"),
    "staff-consultations": Case("staff", "/verwaltung/beteiligungen"),
    "staff-new-consultation-errors": Case("staff", "/verwaltung/beteiligungen/neu", "Speichern"),
    "staff-meetings": Case("staff", "/verwaltung/gespraeche"),
    "staff-new-meeting-errors": Case("staff", "/verwaltung/gespraeche/neu", "Speichern"),
    "staff-events": Case("staff", "/verwaltung/veranstaltungen/"),
    "staff-new-topic-errors": Case(
        "staff", "/verwaltung/veranstaltungen/", "Thema anlegen", form="form[action$='/themen/']"
    ),
    "staff-new-event-errors": Case("staff", "/verwaltung/veranstaltungen/neu", "Speichern"),
    # admin
    "admin-users": Case("admin", "/verwaltung/benutzer/"),
    "admin-users-errors": Case("admin", "/verwaltung/benutzer/", "Konto anlegen"),
    "admin-user": Case("admin", "/verwaltung/benutzer/{admin}"),
}


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(
                f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}"
            )
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
    pages = {}

    def get(role):
        if role not in pages:
            context = browser.new_context(
                base_url=live.url,
                locale="de-DE",
                timezone_id="Europe/Berlin",
                viewport=DESKTOP,
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
def test_axe_finds_no_violations(name, role_page, axe, data, shot, artifacts):
    case = PAGES[name]
    page = role_page(case.role)
    case.visit(page, data)
    expect(page.locator("h1")).to_have_count(1)
    results = axe.run(page).response
    rules = {
        r["id"]
        for key in ("passes", "violations", "incomplete", "inapplicable")
        for r in results[key]
    }
    (artifacts / "axe").mkdir(parents=True, exist_ok=True)
    (artifacts / "axe" / f"{name}.json").write_text(
        json.dumps(
            {
                "url": page.url,
                "axe": results["testEngine"]["version"],
                "rules_run": len(rules),
                "violations": [v["id"] for v in results["violations"]],
                "incomplete": [v["id"] for v in results["incomplete"]],
            },
            indent=2,
        )
    )
    print(f"{name}: axe {results['testEngine']['version']} ran {len(rules)} rules")
    if results["violations"]:
        shot(page, f"axe-{name}")
    assert not results["violations"], f"{name} ({page.url}):\n" + describe(results["violations"])
    # axe 4.12 no longer reports duplicate ids as violations; a label must name one control only
    assert page.evaluate(DUPLICATES) == {"ids": [], "labelled_twice": []}, name

    # Reflow (WCAG 1.4.10): at 320 CSS px nothing makes the whole page scroll sideways.
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    finally:
        page.set_viewport_size(DESKTOP)
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 320px"


# Keyboard -------------------------------------------------------------------------------------

FOCUSABLE = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]'))
  .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length
                && getComputedStyle(el).visibility !== 'hidden')"""

FOCUS_STYLE = """el => {
  const s = getComputedStyle(el);
  const outline = s.outlineStyle === 'none' || s.outlineWidth === '0px'
    ? 'none' : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
  return {outline, shadow: s.boxShadow};
}"""

NAME = """el => el.tagName + ' '
  + (el.id || el.getAttribute('href') || el.textContent.trim().slice(0, 40))"""

TAB_STEP = f"""() => {{
  const el = document.activeElement;
  if (!el || el === document.body || window.__seen.includes(el)) return null;
  window.__seen.push(el);
  return {{focused: ({FOCUS_STYLE})(el), name: ({NAME})(el),
           visible: el.matches(':focus-visible'), inMain: !!el.closest('main')}};
}}"""


def test_keyboard_reaches_everything_with_a_visible_focus(page, shot):
    page.goto("/?state=open")
    total = page.evaluate(f"({FOCUSABLE})().length")
    assert total > 20

    # The skip link comes first, shows up, and moves the focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_class("skip-link")
    expect(page.locator(":focus")).to_be_in_viewport()
    shot(page, "keyboard-skip-link", full_page=False)
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("inhalt")

    # From the top, Tab visits every interactive element once, and each shows where focus is.
    page.goto("/?state=open")
    page.evaluate(f"window.__all = ({FOCUSABLE})(); window.__seen = []")
    without_indicator = []
    for _ in range(total + 5):
        page.keyboard.press("Tab")
        step = page.evaluate(TAB_STEP)
        if step is None:
            break
        focused = step["focused"]
        if not step["visible"] or focused["outline"] == "none" and focused["shadow"] == "none":
            without_indicator.append(step["name"])
    missed = page.evaluate(
        f"() => window.__all.filter(el => !window.__seen.includes(el)).map({NAME})"
    )
    assert not missed, f"not reachable with Tab: {missed}"
    assert page.evaluate("window.__seen.length") == total
    assert not without_indicator, f"no visible focus indicator: {without_indicator}"

    # The indicator is a change: without focus the same elements show neither outline nor ring.
    page.evaluate("document.activeElement.blur()")
    unchanged = page.evaluate(f"""() => window.__seen.filter(el => {{
        const s = ({FOCUS_STYLE})(el);
        return s.outline !== 'none' || s.shadow !== 'none';
    }}).map({NAME})""")
    assert not unchanged, f"outline or ring also without focus: {unchanged}"


def test_focus_indicator_on_form_controls(staff_page):
    """Inputs, selects, checkboxes and buttons of a staff form show focus too."""
    page = staff_page
    page.goto("/verwaltung/forderungen/neu")
    controls = page.locator("main").locator("input:not([type=hidden]), select, textarea, button")
    assert controls.count() >= 5
    page.locator("main h1").click()  # start inside main, as a keyboard user after the skip link
    page.evaluate("window.__seen = []")
    seen = 0
    for _ in range(controls.count() + 10):
        page.keyboard.press("Tab")
        step = page.evaluate(TAB_STEP)
        if step is None or not step["inMain"]:
            break
        seen += 1
        assert step["visible"], step
        assert re.match(r"solid \d+(\.\d+)?px", step["focused"]["outline"]), step
    assert seen >= controls.count()


# Reading at phone width -----------------------------------------------------------------------

# Words in table cells that the browser split over two lines, other than after a hyphen or a
# slash („Sachsen-|Anhalt“ is fine, „Sozialminis|terium“ and „Sozialminis-|terium“ are not).
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('main table td, main table th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[^\\s\\/-]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects())
          .filter(r => r.width > 1).map(r => Math.round(r.bottom)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""

TABLE_PAGES = [
    name
    for name, case in PAGES.items()
    if case.button is None and not name.startswith(("login", "answer-invalid", "not-found"))
]


@pytest.mark.parametrize("name", TABLE_PAGES)
def test_no_word_is_broken_in_a_table_at_360px(name, role_page, data):
    case = PAGES[name]
    page = role_page(case.role)
    page.set_viewport_size({"width": 360, "height": 740})
    try:
        case.visit(page, data)
        broken = page.evaluate(BROKEN_WORDS)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    finally:
        page.set_viewport_size(DESKTOP)
    assert broken == [], f"{name}: words broken mid-word at 360px: {broken}"
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 360px"
