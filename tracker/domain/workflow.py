"""The demand workflow: the one declaration of states, triggers, guards and target durations.

Everything else derives from here: the machine that moves demands, the triggers the UI offers,
the notes each trigger requires, the diagram users see and the overdue checks of the reminders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from flask import has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from transitions import Machine
from transitions.extensions.diagrams import GraphMachine


@dataclass(frozen=True)
class State:
    """A workflow state with its label and how many working days a demand may wait in it."""

    name: str
    label: str
    target_workdays: int | None
    is_open: bool = True


@dataclass(frozen=True)
class Note:
    """A field a trigger asks for; ``required`` ones must be filled in."""

    name: str
    label: str
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    multiline: bool = True


@dataclass(frozen=True)
class Transition:
    """A named trigger from one or more states to another, with its notes and pure guards."""

    trigger: str
    label: str
    source: tuple[str, ...]
    dest: str
    notes: tuple[Note, ...] = ()
    conditions: tuple[str, ...] = field(default=())


OUTCOMES = (
    ("implemented", _l("umgesetzt")),
    ("partly_implemented", _l("teilweise umgesetzt")),
    ("rejected", _l("abgelehnt")),
    ("obsolete", _l("gegenstandslos")),
)

STATES = (
    State("raised", _l("erhoben"), target_workdays=20),
    State("addressed", _l("aufgegriffen"), target_workdays=60),
    State("evaluated", _l("evaluiert"), target_workdays=40),
    State("closed", _l("abgeschlossen"), target_workdays=None, is_open=False),
)

TRANSITIONS = (
    Transition(
        "address",
        _l("Als aufgegriffen markieren"),
        source=("raised",),
        dest="addressed",
        notes=(Note("note", _l("Wie wurde die Forderung aufgegriffen?"), required=False),),
    ),
    Transition(
        "evaluate",
        _l("Evaluation festhalten"),
        source=("addressed",),
        dest="evaluated",
        notes=(
            Note("summary", _l("Zusammenfassung der Evaluation")),
            Note("participants", _l("Wer hat an der Evaluation teilgenommen?"), multiline=False),
        ),
    ),
    Transition(
        "close",
        _l("Abschließen"),
        source=("raised", "addressed", "evaluated"),
        dest="closed",
        notes=(
            Note("outcome", _l("Ergebnis"), choices=OUTCOMES),
            Note("note", _l("Begründung oder Anmerkung"), required=False),
        ),
        conditions=("outcome_fits_state",),
    ),
    Transition(
        "reopen",
        _l("Wieder öffnen"),
        source=("closed",),
        dest="raised",
        notes=(Note("reason", _l("Warum wird die Forderung wieder geöffnet?")),),
    ),
)

STATE_BY_NAME = {s.name: s for s in STATES}
TRANSITION_BY_TRIGGER = {t.trigger: t for t in TRANSITIONS}
OPEN_STATES = tuple(s.name for s in STATES if s.is_open)
OUTCOME_LABELS = dict(OUTCOMES)


# Guards are pure: they read the state and the notes and change nothing.
# Each has the message the user sees when it refuses.
def outcome_fits_state(state: str, notes: dict) -> bool:
    """Allow the outcomes 'implemented' and 'partly implemented' only after an evaluation."""
    if notes.get("outcome") in ("implemented", "partly_implemented"):
        return state == "evaluated"
    return True


GUARDS = {
    "outcome_fits_state": (
        outcome_fits_state,
        _l(
            "„umgesetzt“ und „teilweise umgesetzt“ setzen eine Evaluation voraus: "
            "bitte die Forderung zuerst evaluieren."
        ),
    ),
}


def _condition(name: str):
    guard = GUARDS[name][0]
    return lambda event: guard(event.state.name, event.kwargs)


def _machine_transitions() -> list[dict]:
    return [
        {
            "trigger": t.trigger,
            "source": list(t.source),
            "dest": t.dest,
            "conditions": [_condition(c) for c in t.conditions],
        }
        for t in TRANSITIONS
    ]


# One machine for the class: rows are passed in when a trigger fires, nothing is attached to them.
machine = Machine(
    model=None,
    states=[s.name for s in STATES],
    transitions=_machine_transitions(),
    initial=None,
    auto_transitions=False,
    send_event=True,
)


def state_label(name: str | None) -> str:
    """Return the German label of a state name."""
    state = STATE_BY_NAME.get(name or "")
    return str(state.label) if state else (name or "")


def allowed_triggers(state: str) -> list[Transition]:
    """Return the transitions the machine allows from ``state``, in declaration order."""
    names = set(machine.get_triggers(state))
    return [t for t in TRANSITIONS if t.trigger in names]


def fire(demand, trigger: str, **notes) -> bool:
    """Fire ``trigger`` on ``demand``; True if it moved. Raises MachineError if not allowed."""
    return machine.events[trigger].trigger(demand, **notes)


def failed_guard(state: str, trigger: str, notes: dict) -> str | None:
    """Return the message of the first guard of ``trigger`` that refuses, else None."""
    for name in TRANSITION_BY_TRIGGER[trigger].conditions:
        guard, message = GUARDS[name]
        if not guard(state, notes):
            return str(message)
    return None


def mermaid(current: str | None = None) -> str:
    """Draw the workflow as Mermaid text, marking ``current`` if given."""
    if not has_request_context():  # the command line: no user whose language to follow
        with force_locale("de"):
            return _mermaid(current, "de")
    return _mermaid(current, str(get_locale()))


@lru_cache(maxsize=32)
def _mermaid(current: str | None, locale: str) -> str:
    """Draw the diagram once per state and language: the declaration never changes at run time."""
    graph = GraphMachine(
        states=[s.name for s in STATES],
        transitions=[
            {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in TRANSITIONS
        ],
        initial=STATES[0].name,  # the start marker points where every demand starts
        graph_engine="mermaid",
        auto_transitions=False,
        show_conditions=False,
    )
    if current:
        graph.set_state(current)
    text = graph.get_graph(force_new=True).draw(None)
    for state in STATES:  # show the users' names for the states
        text = text.replace(f'state "{state.name}" as', f'state "{state.label}" as')
    return text.replace("State Machine", str(_l("Ablauf einer Forderung")))
