"""The workflow declaration and ``advance``: every (state, trigger) pair, notes, guards, races."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import transitions
from helpers import make_demand, make_user, put_in_state, timeline

from tracker.domain import workflow
from tracker.domain.models import Demand, TimelineEntry
from tracker.extensions import db
from tracker.services.demands import advance
from tracker.services.errors import ServiceError, StaleDemand, TransitionNotAllowed

STATE_NAMES = [s.name for s in workflow.STATES]
TRIGGERS = [t.trigger for t in workflow.TRANSITIONS]

# The expected machine, written out by hand: (state, trigger) -> destination.
LEGAL = {
    ("raised", "address"): "addressed",
    ("raised", "close"): "closed",
    ("addressed", "evaluate"): "evaluated",
    ("addressed", "close"): "closed",
    ("evaluated", "close"): "closed",
    ("closed", "reopen"): "raised",
}

# Notes that satisfy each trigger (optional ones included, so that they show in the data).
NOTES = {
    "address": {"note": "Im Ministerium an das Fachreferat gegeben."},
    "evaluate": {"summary": "Gemeinsam ausgewertet.", "participants": "MS, MI, LIGA"},
    "close": {"outcome": "rejected", "note": "Das Ministerium lehnt ab."},
    "reopen": {"reason": "Neue Erkenntnisse aus der Beratungspraxis."},
}

ALL_PAIRS = list(itertools.product(STATE_NAMES, TRIGGERS))


def test_the_table_covers_the_declaration():
    assert STATE_NAMES == ["raised", "addressed", "evaluated", "closed"]
    assert sorted(TRIGGERS) == sorted({t for _s, t in LEGAL})
    assert set(LEGAL) < set(ALL_PAIRS)


@pytest.fixture
def user(app):
    return make_user()


def _demand_in(state: str) -> Demand:
    return put_in_state(make_demand(), state)


@pytest.mark.parametrize(("state", "trigger"), [p for p in ALL_PAIRS if p in LEGAL])
def test_legal_transition_moves_and_writes_one_entry(request_ctx, user, state, trigger):
    demand = _demand_in(state)
    version, before = demand.version, len(timeline(demand))

    entry = advance(demand, trigger, user, demand.version, dict(NOTES[trigger]))

    db.session.expire_all()
    assert demand.state == LEGAL[(state, trigger)]
    assert demand.version == version + 1
    entries = timeline(demand)
    assert len(entries) == before + 1
    (transition,) = timeline(demand, "transition")
    assert transition.id == entry.id
    assert (transition.trigger, transition.from_state, transition.to_state) == (
        trigger,
        state,
        LEGAL[(state, trigger)],
    )
    assert transition.data == NOTES[trigger]
    assert transition.author_id == user.id and transition.author_name == user.name
    assert transition.is_public is True


@pytest.mark.parametrize(("state", "trigger"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_is_refused_and_changes_nothing(request_ctx, user, state, trigger):
    demand = _demand_in(state)
    version, outcome, before = demand.version, demand.outcome, len(timeline(demand))

    with pytest.raises(TransitionNotAllowed) as refused:
        advance(demand, trigger, user, demand.version, dict(NOTES[trigger]))

    assert "nicht möglich" in refused.value.message
    assert workflow.state_label(state) in refused.value.message
    db.session.expire_all()
    assert (demand.state, demand.version, demand.outcome) == (state, version, outcome)
    assert len(timeline(demand)) == before


def test_unknown_trigger_is_refused(request_ctx, user):
    demand = make_demand()
    with pytest.raises(TransitionNotAllowed, match="Unbekannter Schritt"):
        advance(demand, "approve", user, demand.version, {})
    assert len(timeline(demand)) == 1


@pytest.mark.parametrize(
    ("state", "trigger", "notes", "fields"),
    [
        ("addressed", "evaluate", {}, {"summary", "participants"}),
        ("addressed", "evaluate", {"summary": "Ausgewertet."}, {"participants"}),
        ("addressed", "evaluate", {"summary": "  ", "participants": "MS"}, {"summary"}),
        ("raised", "close", {}, {"outcome"}),
        ("addressed", "close", {"note": "ohne Ergebnis"}, {"outcome"}),
        ("evaluated", "close", {"outcome": "great"}, {"outcome"}),
        ("closed", "reopen", {}, {"reason"}),
        ("closed", "reopen", {"reason": "\n\t "}, {"reason"}),
        ("addressed", "evaluate", {"summary": "x" * 10_001, "participants": "MS"}, {"summary"}),
    ],
)
def test_missing_notes_are_refused_per_field(request_ctx, user, state, trigger, notes, fields):
    demand = _demand_in(state)
    version, before = demand.version, len(timeline(demand))

    with pytest.raises(ServiceError) as refused:
        advance(demand, trigger, user, demand.version, notes)

    assert not isinstance(refused.value, TransitionNotAllowed | StaleDemand)
    assert set(refused.value.errors) == fields
    assert all(message for message in refused.value.errors.values())
    db.session.expire_all()
    assert (demand.state, demand.version) == (state, version)
    assert len(timeline(demand)) == before


def test_required_note_message_names_the_field(request_ctx, user):
    demand = _demand_in("closed")
    with pytest.raises(ServiceError) as refused:
        advance(demand, "reopen", user, demand.version, {})
    assert refused.value.errors["reason"].startswith("Bitte ausfüllen")
    assert "wieder geöffnet" in refused.value.errors["reason"]


@pytest.mark.parametrize(
    ("state", "outcome", "allowed"),
    [
        ("raised", "implemented", False),
        ("addressed", "implemented", False),
        ("raised", "partly_implemented", False),
        ("addressed", "partly_implemented", False),
        ("evaluated", "implemented", True),
        ("evaluated", "partly_implemented", True),
        ("raised", "rejected", True),
        ("addressed", "obsolete", True),
    ],
)
def test_close_guard_needs_an_evaluation_for_implemented(
    request_ctx, user, state, outcome, allowed
):
    demand = _demand_in(state)
    version, before = demand.version, len(timeline(demand))

    if allowed:
        advance(demand, "close", user, demand.version, {"outcome": outcome})
        db.session.expire_all()
        assert (demand.state, demand.outcome) == ("closed", outcome)
        assert len(timeline(demand)) == before + 1
        return
    with pytest.raises(TransitionNotAllowed) as refused:
        advance(demand, "close", user, demand.version, {"outcome": outcome})
    assert "setzen eine Evaluation voraus" in refused.value.message
    db.session.expire_all()
    assert (demand.state, demand.version, demand.outcome) == (state, version, None)
    assert len(timeline(demand)) == before


def test_reopen_clears_the_outcome_and_keeps_the_reason(request_ctx, user):
    demand = put_in_state(make_demand(), "closed", outcome="implemented")
    entry = advance(demand, "reopen", user, demand.version, {"reason": "Umsetzung gestoppt."})
    db.session.expire_all()
    assert (demand.state, demand.outcome) == ("raised", None)
    assert entry.text == "Umsetzung gestoppt." and entry.data == {"reason": "Umsetzung gestoppt."}


def test_the_full_path_leaves_one_entry_per_step(request_ctx, user):
    demand = make_demand()
    for trigger, notes in [
        ("address", {}),
        ("evaluate", NOTES["evaluate"]),
        ("close", {"outcome": "implemented"}),
        ("reopen", NOTES["reopen"]),
    ]:
        advance(demand, trigger, user, demand.version, notes)
    steps = [(e.from_state, e.to_state) for e in timeline(demand, "transition")]
    assert steps == [
        ("raised", "addressed"),
        ("addressed", "evaluated"),
        ("evaluated", "closed"),
        ("closed", "raised"),
    ]
    assert timeline(demand, "transition")[0].data == {}  # the optional note was left out


@pytest.mark.parametrize("offset", [-1, 1, 99])
def test_stale_version_is_refused(request_ctx, user, offset):
    demand = _demand_in("addressed")
    version, before = demand.version, len(timeline(demand))

    with pytest.raises(StaleDemand) as refused:
        advance(demand, "evaluate", user, version + offset, NOTES["evaluate"])

    assert "Diese Forderung wurde inzwischen geändert" in refused.value.message
    db.session.expire_all()
    assert (demand.state, demand.version) == ("addressed", version)
    assert len(timeline(demand)) == before


def test_concurrent_advance_one_wins_the_other_is_told(app, request_ctx, user):
    demand_id, user_id = make_demand().id, user.id
    db.session.remove()

    user = db.session.get(type(user), user_id)
    mine = db.session.get(Demand, demand_id)  # loaded at version 1 in this session
    assert mine.version == 1
    with app.app_context():  # someone else, with a session of their own
        theirs = db.session.get(Demand, demand_id)
        assert theirs is not mine
        advance(theirs, "address", None, theirs.version, {"note": "Zuerst."})
        db.session.commit()  # their request ends

    assert mine.version == 1 and mine.state == "raised"  # this session has not seen it
    with pytest.raises(StaleDemand, match="Diese Forderung wurde inzwischen geändert"):
        advance(mine, "close", user, mine.version, {"outcome": "rejected"})

    db.session.expire_all()
    fresh = db.session.get(Demand, demand_id)
    assert (fresh.state, fresh.version, fresh.outcome) == ("addressed", 2, None)
    transitions = db.session.scalars(
        sa.select(TimelineEntry).where(
            TimelineEntry.demand_id == demand_id, TimelineEntry.kind == "transition"
        )
    ).all()
    assert [(t.from_state, t.to_state, t.data) for t in transitions] == [
        ("raised", "addressed", {"note": "Zuerst."})
    ]


@pytest.mark.parametrize("state", STATE_NAMES)
def test_allowed_triggers_follow_the_machine(state):
    offered = [t.trigger for t in workflow.allowed_triggers(state)]
    assert set(offered) == set(workflow.machine.get_triggers(state))
    assert sorted(offered) == sorted(t for (s, t) in LEGAL if s == state)
    assert offered == [t for t in TRIGGERS if t in offered]  # in declaration order


# Notes for every outcome of closing, so that the guard is asked both ways.
VARIANTS = [(t, NOTES[t]) for t in TRIGGERS if t != "close"] + [
    ("close", {"outcome": outcome}) for outcome, _label in workflow.OUTCOMES
]


@pytest.mark.parametrize(("trigger", "notes"), VARIANTS)
@pytest.mark.parametrize("state", STATE_NAMES)
def test_the_service_accepts_exactly_what_the_machine_allows(
    request_ctx, user, state, trigger, notes
):
    demand = _demand_in(state)
    allowed = workflow.may(demand, trigger, notes)
    offered = trigger in {t.trigger for t in workflow.allowed_triggers(state)}
    assert allowed <= offered  # notes can narrow what the state offers, never widen it
    try:
        advance(demand, trigger, user, demand.version, dict(notes))
    except TransitionNotAllowed as refused:
        assert not allowed
        assert refused.message == str(workflow.refusal(demand, trigger, notes))
    else:
        assert allowed
        assert demand.state == LEGAL[(state, trigger)]


@pytest.mark.parametrize("state", STATE_NAMES)
def test_the_offered_steps_are_those_the_machine_may_take_without_notes(state):
    demand = SimpleNamespace(state=state)
    offered = [t.trigger for t in workflow.allowed_triggers(state)]
    assert offered == [t for t in TRIGGERS if workflow.may(demand, t)]


def test_the_steps_effects_are_callbacks_of_the_machine():
    demand = SimpleNamespace(state="evaluated", outcome=None)  # no database, no app
    workflow.fire(demand, "close", {"outcome": "implemented"})
    assert (demand.state, demand.outcome) == ("closed", "implemented")
    workflow.fire(demand, "reopen", {"reason": "Neue Lage."})
    assert (demand.state, demand.outcome) == ("raised", None)
    with pytest.raises(workflow.Refused) as refused:
        workflow.fire(demand, "close", {"outcome": "implemented"})  # the guard, in the machine
    assert "setzen eine Evaluation voraus" in str(refused.value.message)
    assert (demand.state, demand.outcome) == ("raised", None)
    with pytest.raises(workflow.Refused, match="ist im Zustand „erhoben“ nicht möglich"):
        workflow.fire(demand, "reopen", {"reason": "Noch einmal."})


def test_notes_named_like_arguments_are_only_notes(request_ctx, user):
    demand = _demand_in("closed")
    notes = {"reason": "Neu.", "demand": "x", "trigger": "close", "model": "y", "notes": "z"}
    entry = advance(demand, "reopen", user, demand.version, notes)
    assert entry.data == {"reason": "Neu."} and demand.state == "raised"


def test_the_declaration_needs_no_flask_and_shadows_no_library_class():
    source = Path(workflow.__file__).read_text()
    imported = {
        name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }
    assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_babel")}
    assert "tracker.domain.labels" in imported  # its words: lazy strings, shown where read
    assert not hasattr(workflow, "Transition")
    assert isinstance(
        workflow.machine.events["close"].transitions["raised"][0], transitions.Transition
    )


def test_the_declaration_works_without_an_app():
    # no app, no request: the words are German, the machine decides, the diagram draws
    assert workflow.state_label("closed") == "abgeschlossen"
    assert workflow.refusal(SimpleNamespace(state="closed"), "close") == (
        "„Abschließen“ ist im Zustand „abgeschlossen“ nicht möglich."
    )
    assert 'state "evaluiert" as evaluated' in workflow.mermaid("evaluated")


@pytest.mark.parametrize("state", STATE_NAMES)
def test_every_state_has_a_target_unless_closed(state):
    spec = workflow.STATE_BY_NAME[state]
    assert (spec.target_workdays is None) == (state == "closed") == (not spec.is_open)
    assert state in workflow.OPEN_STATES or state == "closed"


def test_mermaid_uses_german_labels_and_marks_the_current_state(request_ctx):
    text = workflow.mermaid("addressed")
    assert text.lstrip("-\n").startswith("Ablauf einer Forderung")
    assert "stateDiagram-v2" in text
    for name, label in [
        ("raised", "erhoben"),
        ("addressed", "aufgegriffen"),
        ("evaluated", "evaluiert"),
        ("closed", "abgeschlossen"),
    ]:
        assert f'state "{label}" as {name}' in text
    active = [line.split()[1] for line in text.splitlines() if line.strip().endswith("s_active")]
    assert active == ["addressed"]
    for (state, trigger), dest in LEGAL.items():
        assert f"{state} --> {dest}: {trigger}" in text
    assert "[*] --> raised" in text  # demands start as raised, wherever this one is now
    assert "[*] --> addressed" not in text


def test_mermaid_without_current_state(request_ctx):
    text = workflow.mermaid()
    assert "[*] --> raised" in text and 'state "abgeschlossen" as closed' in text


@pytest.mark.parametrize(
    ("state", "label"),
    [("raised", "erhoben"), ("closed", "abgeschlossen"), (None, ""), ("unknown", "unknown")],
)
def test_state_label(request_ctx, state, label):
    assert workflow.state_label(state) == label
