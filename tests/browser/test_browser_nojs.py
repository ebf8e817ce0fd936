"""Everything essential works with JavaScript switched off: plain forms and links only."""

from __future__ import annotations

import re

from browserkit import LOGOUT_EMAIL, PASSWORD
from playwright.sync_api import expect


def step(page, form: str, button: str) -> None:
    """Submit ``form`` with ``button`` and wait for the page that follows."""
    with page.expect_navigation():
        page.locator(form).get_by_role("button", name=button).click()


def test_every_essential_action_works_without_javascript(live, new_context, shot):
    context = new_context(java_script_enabled=False)
    page = context.new_page()

    # Scripts really do not run in this context.
    context.route(
        "**/js-probe",
        lambda route: route.fulfill(
            content_type="text/html",
            body="<title>ohne</title><script>document.title = 'mit'</script>",
        ),
    )
    page.goto("/js-probe")
    assert page.title() == "ohne"

    # Filter the overview (a GET form).
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "de"
    filters = page.get_by_role("search")
    filters.get_by_label("Zustand").select_option("open")
    filters.get_by_label("Zuständige Stelle").select_option("mi")
    with page.expect_navigation():
        filters.get_by_role("button", name="Anzeigen").click()
    assert "state=open" in page.url and "body=mi" in page.url
    expect(page.get_by_role("heading", name=re.compile(r"Stand \(gefiltert\)"))).to_be_visible()
    expect(page.get_by_role("link", name="Filter zurücksetzen")).to_be_visible()
    shot(page, "nojs-01-filtered")

    # Log in.
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(LOGOUT_EMAIL)  # this test logs out at the end
    page.get_by_label("Passwort (Pflichtangabe)", exact=True).fill(PASSWORD)
    step(page, "main form", "Anmelden")
    expect(page).to_have_url(re.compile(r"/verwaltung/$"))

    # Record a demand.
    page.goto("/verwaltung/forderungen/neu")
    page.get_by_label("Titel").fill("Ohne JavaScript erfasst")
    page.get_by_label("Text der Forderung").fill("Auch ohne Skripte muss alles gehen.")
    page.get_by_label("Dialog und Transparenz").check()
    step(page, "main form", "Forderung anlegen")
    expect(page).to_have_url(re.compile(r"/verwaltung/forderungen/\d+$"))
    demand_id = int(page.url.rsplit("/", 1)[1])

    # Assign two bodies.
    page.locator(f"#assign-body_{live.body_id('mi')}").select_option("lead")
    page.locator(f"#assign-body_{live.body_id('bamf')}").select_option("involved")
    step(page, "form[action$='/stellen']", "Zuständigkeit speichern")
    expect(page.get_by_role("status")).to_contain_text("Zuständige Stellen gespeichert.")

    # raised -> addressed.
    step(page, "form[action$='/schritt/address']", "Als aufgegriffen markieren")
    expect(page.get_by_role("status")).to_contain_text("Neuer Zustand: aufgegriffen.")

    # Add an update.
    page.locator("form[action$='/stand']").get_by_label("Neuer Stand").fill("Termin steht.")
    step(page, "form[action$='/stand']", "Eintragen")
    expect(page.get_by_role("status")).to_contain_text("Der neue Stand steht in der Chronik.")

    # The body answers through its link: the statement form sits in a <details>, no script needed.
    answer = new_context(java_script_enabled=False).new_page()
    answer.goto(f"/antwort/{live.answer_token('mi')}")
    section = answer.locator(f"#forderung-{demand_id}")
    step(
        answer, f"#forderung-{demand_id} form[action$='/bestaetigen']", "Unverändert in Bearbeitung"
    )
    expect(answer.get_by_role("status")).to_contain_text("unverändert in Bearbeitung")
    section.locator("summary").click()
    section.get_by_label("Ihre Stellungnahme").fill("Das Innenministerium prüft.")
    step(answer, f"#forderung-{demand_id} form[action$='/stellungnahme']", "Stellungnahme senden")
    expect(answer.get_by_role("status")).to_contain_text("Vielen Dank.")
    shot(answer, "nojs-02-answered")

    # A step with missing notes is refused with the reasons, then done properly.
    page.goto(f"/verwaltung/forderungen/{demand_id}")
    step(page, "form[action$='/schritt/evaluate']", "Evaluation festhalten")
    expect(page.get_by_role("alert")).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    form = page.locator("form[action$='/schritt/evaluate']")
    form.get_by_label("Zusammenfassung der Evaluation").fill("Gemeinsam ausgewertet.")
    form.get_by_label("Wer hat an der Evaluation teilgenommen?").fill("LIGA, Innenministerium")
    step(page, "form[action$='/schritt/evaluate']", "Evaluation festhalten")
    expect(page.get_by_role("status")).to_contain_text("Neuer Zustand: evaluiert.")

    page.locator("form[action$='/schritt/close']").get_by_label("umgesetzt", exact=True).check()
    step(page, "form[action$='/schritt/close']", "Abschließen")
    expect(page.get_by_role("status")).to_contain_text("Neuer Zustand: abgeschlossen.")

    page.locator("form[action$='/schritt/reopen']").get_by_label(
        "Warum wird die Forderung wieder geöffnet?"
    ).fill("Die Umsetzung stockt.")
    step(page, "form[action$='/schritt/reopen']", "Wieder öffnen")
    expect(page.get_by_role("status")).to_contain_text("Neuer Zustand: erhoben.")

    page.locator("form[action$='/schritt/close']").get_by_label("abgelehnt").check()
    step(page, "form[action$='/schritt/close']", "Abschließen")
    expect(page.get_by_role("status")).to_contain_text("Neuer Zustand: abgeschlossen.")
    assert live.demand_state(demand_id) == "closed"
    shot(page, "nojs-03-closed")

    # The public page tells the whole story.
    page.goto(f"/forderungen/{demand_id}")
    timeline = page.locator(".timeline")
    for text in (
        "Das Innenministerium prüft.",
        "Termin steht.",
        "abgeschlossen → erhoben",
        "Die Umsetzung stockt.",
        "bestätigt: unverändert in Bearbeitung",
    ):
        expect(timeline).to_contain_text(text)

    # Switch the language in the footer (a link that sets a cookie) and back.
    page.get_by_role("contentinfo").get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page).to_have_url(re.compile(rf"/forderungen/{demand_id}$"))
    expect(
        page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Demands")
    ).to_be_visible()
    page.get_by_role("contentinfo").get_by_role("link", name="Deutsch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "de"

    # Log out (GET shows a button; the POST logs out).
    page.goto("/abmelden")
    step(page, "main form", "Jetzt abmelden")
    expect(page.get_by_role("status")).to_contain_text("Sie sind abgemeldet.")
