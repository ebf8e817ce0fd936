"""The rules every entry point checks the same way (forms, API, CSV import, services, OpenAPI)."""

from __future__ import annotations

TITLE_MAX = 300  # a demand's, a consultation's, an event's title
TEXT_MAX = 20_000  # a demand's text, a statement, a meeting's summary
NOTE_MAX = 10_000  # an update, the notes of a step, a re-check
URL_MAX = 500  # an address (a consultation's draft or statement), a consultation's source
STEP_MAX = 1_000  # a next step agreed in a meeting
STEPS_MAX = 50  # next steps of one meeting
