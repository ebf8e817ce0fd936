"""Named points where a test can make this process die (SIGKILL), to prove what survives.

``TRACKER_KILL_AT=outbox:accepted:3`` kills the process the third time it reaches
``outbox:accepted``; several points are separated by commas. Unset (always, outside tests), a
point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

_seen: Counter = Counter()
_lock = threading.Lock()  # the outbox's connections reach points from several threads


def reached(name: str) -> None:
    """Die here if TRACKER_KILL_AT names this point (and this is the n-th time)."""
    spec = os.environ.get("TRACKER_KILL_AT")
    if not spec:
        return
    with _lock:
        _seen[name] += 1
        seen = _seen[name]
    for item in spec.split(","):
        point, _, nth = item.strip().rpartition(":") if item.count(":") > 1 else (item, "", "1")
        if point.strip() == name and seen == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
