"""The demand workflow: the one declaration of states, steps, guards, effects and target durations.

Everything else derives from here: the machine that decides and moves demands, the steps the UI
offers, the notes each step requires, the diagrams users see and the overdue checks of the
reminders. Nothing here needs an app or a request: the words are lazy strings, shown (and
translated) where they are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

from transitions import EventData, Machine, MachineError
from transitions.extensions.diagrams import GraphMachine

from tracker.domain.labels import _l, text


@dataclass(frozen=True)
class State:
    """A workflow state with its label and how many working days a demand may wait in it."""

    name: str
    label: str
    target_workdays: int | None
    is_open: bool = True


@dataclass(frozen=True)
class Note:
    """A field a step asks for; ``required`` ones must be filled in."""

    name: str
    label: str
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    multiline: bool = True


class Refused(Exception):
    """The machine refuses a step; ``message`` says why, in words for users."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Guard:
    """A pure condition of a step: ``test(state, notes)`` reads and changes nothing.

    The machine calls the guard; when the test fails it refuses with ``refusal``, so that the one
    evaluation by the machine also says why.
    """

    test: Callable[[str, dict], bool]  # gets the state's name and the notes, nothing else
    refusal: str

    def __call__(self, event: EventData) -> bool:
        if self.test(event.state.name, event.kwargs.get("notes", {})):
            return True
        raise Refused(self.refusal)


Effect = Callable[[EventData], None]  # a step's callback: changes ``event.model``


@dataclass(frozen=True)
class Step:
    """A named trigger from one or more states to another, with its notes, guards and effects."""

    trigger: str
    label: str
    source: tuple[str, ...]
    dest: str
    notes: tuple[Note, ...] = ()
    conditions: tuple[Guard, ...] = ()
    before: tuple[Effect, ...] = ()  # run after the guards, before the state changes


def outcome_fits_state(state: str, notes: dict) -> bool:
    """Allow the outcomes 'implemented' and 'partly implemented' only after an evaluation."""
    if notes.get("outcome") in ("implemented", "partly_implemented"):
        return state == "evaluated"
    return True


def record_outcome(event: EventData) -> None:
    """Closing keeps the outcome given with the step."""
    event.model.outcome = event.kwargs["notes"]["outcome"]


def clear_outcome(event: EventData) -> None:
    """Reopening forgets the outcome: the demand is open again."""
    event.model.outcome = None


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
    Step(
        "address",
        _l("Als aufgegriffen markieren"),
        source=("raised",),
        dest="addressed",
        notes=(Note("note", _l("Wie wurde die Forderung aufgegriffen?"), required=False),),
    ),
    Step(
        "evaluate",
        _l("Evaluation festhalten"),
        source=("addressed",),
        dest="evaluated",
        notes=(
            Note("summary", _l("Zusammenfassung der Evaluation")),
            Note("participants", _l("Wer hat an der Evaluation teilgenommen?"), multiline=False),
        ),
    ),
    Step(
        "close",
        _l("Abschließen"),
        source=("raised", "addressed", "evaluated"),
        dest="closed",
        notes=(
            Note("outcome", _l("Ergebnis"), choices=OUTCOMES),
            Note("note", _l("Begründung oder Anmerkung"), required=False),
        ),
        conditions=(
            Guard(
                outcome_fits_state,
                _l(
                    "„umgesetzt“ und „teilweise umgesetzt“ setzen eine Evaluation voraus: "
                    "bitte die Forderung zuerst evaluieren."
                ),
            ),
        ),
        before=(record_outcome,),
    ),
    Step(
        "reopen",
        _l("Wieder öffnen"),
        source=("closed",),
        dest="raised",
        notes=(Note("reason", _l("Warum wird die Forderung wieder geöffnet?")),),
        before=(clear_outcome,),
    ),
)

STATE_BY_NAME = {s.name: s for s in STATES}
TRANSITION_BY_TRIGGER = {t.trigger: t for t in TRANSITIONS}
OPEN_STATES = tuple(s.name for s in STATES if s.is_open)
OUTCOME_LABELS = dict(OUTCOMES)


def _machine_transitions() -> list[dict]:
    return [
        {
            "trigger": t.trigger,
            "source": list(t.source),
            "dest": t.dest,
            "conditions": list(t.conditions),
            "before": list(t.before),
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
    """Return the label of a state name in the current language."""
    state = STATE_BY_NAME.get(name or "")
    return text(state.label) if state else (name or "")


def refusal(demand: Any, trigger: str, notes: dict | None = None) -> str | None:
    """Ask the machine whether ``demand`` may take ``trigger`` with ``notes``: None if it may,
    else why not (the state does not offer the step, or the guard that refuses).

    This is the machine's ``may_<trigger>()`` query (``Machine._can_trigger``, what ``add_model``
    binds to each model) without attaching anything to the row.
    """
    step = TRANSITION_BY_TRIGGER.get(trigger)
    if step is None:
        return _l("Unbekannter Schritt.")
    try:
        if machine._can_trigger(demand, trigger, notes=notes or {}):
            return None
    except Refused as refused:
        return refused.message
    return _not_from_here(step, demand.state)


def may(demand: Any, trigger: str, notes: dict | None = None) -> bool:
    """Tell whether the machine lets ``demand`` take ``trigger`` (with ``notes``) now."""
    return refusal(demand, trigger, notes) is None


@cache
def allowed_triggers(state: str) -> tuple[Step, ...]:
    """Return the steps the machine allows from ``state``, notes aside, in declaration order.

    Guards read only the state and the notes, so what a demand may do depends on its state alone:
    asked of the machine once per state.
    """
    demand = SimpleNamespace(state=state)
    return tuple(t for t in TRANSITIONS if may(demand, t.trigger))


def fire(demand: Any, trigger: str, notes: dict) -> None:
    """Move ``demand`` by ``trigger`` with the step's effects; Refused if the machine says no."""
    try:
        machine.events[trigger].trigger(demand, notes=notes)
    except MachineError:
        raise Refused(_not_from_here(TRANSITION_BY_TRIGGER[trigger], demand.state)) from None


def _not_from_here(step: Step, state: str) -> str:
    return _l(
        "„%(step)s“ ist im Zustand „%(state)s“ nicht möglich.",
        step=step.label,
        state=state_label(state),
    )


def mermaid(current: str | None = None) -> str:
    """Draw the workflow as Mermaid text in the current language, marking ``current`` if given."""
    text = _mermaid(current)
    for state in STATES:  # show the users' names for the states
        text = text.replace(f'state "{state.name}" as', f'state "{state.label}" as')
    return text.replace("State Machine", str(_l("Ablauf einer Forderung")))


@lru_cache(maxsize=8)
def _mermaid(current: str | None) -> str:
    """Draw the diagram once per state: the declaration never changes at run time."""
    graph = GraphMachine(
        states=[s.name for s in STATES],
        transitions=_machine_transitions(),
        initial=STATES[0].name,  # the start marker points where every demand starts
        graph_engine="mermaid",
        auto_transitions=False,
        show_conditions=False,
    )
    if current:
        graph.set_state(current)
    return graph.get_graph(force_new=True).draw(None)
