"""The outbox sender: an edge that commits after every message.

Each commit books the message just delivered (with the server's reply) together with the claim
of the next one, so a crash leaves at most one row per SMTP connection in 'sending': the one
whose delivery was under way. Such a row turns „ungewiss“ after a while and staff decide
(outbox page). ``TRACKER_SMTP_CONNECTIONS`` connections deliver side by side, each in its own
thread, app context and transaction: the claims keep them from taking the same row, as they
keep two senders apart, and while one waits for the server the others work.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from tracker.domain.models import utcnow
from tracker.jobs import crashpoints
from tracker.services import outbox
from tracker.transactions import commit


class _Quota:
    """How many rows the connections of one flush may still take, shared between them."""

    def __init__(self, limit: int):
        self.left = limit
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            self.left -= 1
            return self.left >= 0


def flush(
    limit: int = 1000, now: dt.datetime | None = None, *, ignore_backoff: bool = False
) -> dict[str, int]:
    """Deliver due pending rows (``ignore_backoff``: every pending row); return the counts."""
    now = now or utcnow()
    outbox.expire_and_unstick(now)
    connections = _connections(limit, now, ignore_backoff)
    commit()  # and end the read: on SQLite a transaction that read before others wrote
    # could not write afterwards
    quota = _Quota(limit)
    if connections <= 1:
        return _deliver(quota, now, ignore_backoff)
    app = current_app._get_current_object()

    def deliver_in_own_context(_) -> dict[str, int]:
        with app.app_context():  # its own session and database connection
            return _deliver(quota, now, ignore_backoff)

    with ThreadPoolExecutor(connections, thread_name_prefix="outbox") as pool:
        results = list(pool.map(deliver_in_own_context, range(connections)))
    return {name: sum(result[name] for result in results) for name in results[0]}


def _connections(limit: int, now: dt.datetime, ignore_backoff: bool) -> int:
    """As many connections as configured, but no more than there are rows to send."""
    wanted = max(1, current_app.config["SMTP_CONNECTIONS"])
    if wanted == 1 or not current_app.config["SMTP_URL"]:  # files: no server to wait for
        return 1
    return max(1, min(wanted, limit, outbox.count_due(now, wanted, ignore_backoff=ignore_backoff)))


def _deliver(quota: _Quota, now: dt.datetime, ignore_backoff: bool) -> dict[str, int]:
    """Claim, send and book rows one at a time over one connection while the quota lasts."""
    token = uuid.uuid4().hex
    counts = {"sent": 0, "retry": 0, "failed": 0}
    transport = outbox.Transport(current_app.config["SMTP_URL"], current_app.config["MAIL_DIR"])
    try:
        while quota.take():
            message = outbox.claim_next(token, now, ignore_backoff=ignore_backoff)
            commit()  # the claim, together with the booking of the message before it
            if message is None:
                break
            crashpoints.reached("outbox:claimed")
            try:
                reply = transport.send(message, outbox.build_email(message))
            except (smtplib.SMTPException, OSError, ValueError) as error:
                transport.reset()
                status = outbox.mark_failed(message, error, now)
                counts["failed" if status == "failed" else "retry"] += 1
                continue
            crashpoints.reached("outbox:accepted")
            outbox.mark_sent(message, transport.name, now, reply)
            counts["sent"] += 1
        commit()  # the last booking when the limit ended the loop
    finally:
        transport.close()
    return counts
