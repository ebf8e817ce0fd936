"""The demand list as CSV for spreadsheets (Excel in Germany: UTF-8 with BOM, ``;`` as delimiter);
cells that a spreadsheet would run as a formula are defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask_babel import force_locale

from tracker import inputs
from tracker.domain import workflow
from tracker.domain.models import Demand
from tracker.services.links import external_url
from tracker.services.progress import progress
from tracker.services.repeats import demanded_since_map, visible_repeats

CSV_COLUMNS = (
    "id",
    "titel",
    "zustand",
    "seit",
    "zieldatum",
    "ueberfaellig",
    "federfuehrend",
    "beteiligt",
    "themen",
    "veranstaltung",
    "url",
    "gefordert_seit",
    "wiederholt",
)
# A cell starting with one of these is taken as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return ``value`` without control characters (stored before they were refused), with an
    apostrophe before text a spreadsheet would run as a formula."""
    if isinstance(value, str):
        value = inputs.clean_text(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def _source(demand: Demand) -> str:
    if demand.event is None:
        return ""
    if demand.event_part is not None:
        return f"{demand.event.title} – {demand.event_part.title}"
    return demand.event.title


def demand_rows(demands: Iterable[Demand]) -> Iterator[list[Any]]:
    """Yield one CSV row (German labels) per demand, header first."""
    yield list(CSV_COLUMNS)
    demands = list(demands)
    since = demanded_since_map(demands)
    with force_locale("de"):
        yes, no = "ja", "nein"  # the file is German whatever the reader's locale
        for d in demands:
            p = progress(d)
            yield [
                d.id,
                d.title,
                workflow.state_label(d.state),
                p.since.isoformat(),
                p.target.isoformat() if p.target else "",
                yes if p.overdue else no,
                ", ".join(b.name for b in d.lead_bodies),
                ", ".join(b.name for b in d.involved_bodies),
                ", ".join(t.name for t in d.topics),
                _source(d),
                external_url("public.demand", demand_id=d.id),
                since[d.id].isoformat(),
                visible_repeats(d) or "",
            ]


def demands_csv(demands: Iterable[Demand]) -> bytes:
    """Return the demands as CSV for Excel: UTF-8 with BOM, ``;`` between cells, CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in demand_rows(demands):
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
