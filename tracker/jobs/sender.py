"""The outbox sender: an edge that commits after every message.

Each commit books the message just delivered (with the server's reply) together with the claim
of the next one, so a crash leaves at most one row in 'sending': the one whose delivery was under
way. That row turns „ungewiss“ after a while and staff decide (outbox page).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid

from flask import current_app

from tracker.domain.models import utcnow
from tracker.jobs import crashpoints
from tracker.services import outbox
from tracker.transactions import commit


def flush(
    limit: int = 1000, now: dt.datetime | None = None, *, ignore_backoff: bool = False
) -> dict[str, int]:
    """Deliver due pending rows (``ignore_backoff``: every pending row); return the counts."""
    now = now or utcnow()
    outbox.expire_and_unstick(now)
    commit()
    token = uuid.uuid4().hex
    counts = {"sent": 0, "retry": 0, "failed": 0}
    transport = outbox.Transport(current_app.config["SMTP_URL"], current_app.config["MAIL_DIR"])
    try:
        while sum(counts.values()) < limit:
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
