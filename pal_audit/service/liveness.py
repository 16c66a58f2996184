"""Is the run that holds a tenant's claim still going to finish it? (`dead_reason`, pure)

A claim normally lives until its run writes the tenant, or CLAIM_TTL. A run that died without
giving its tenants back (storage was down while it cleaned up) would otherwise hold them, and
make every rescan in between silently short. Two deaths can be told for certain:
- a CLI run (`pal-audit scan --store tables`) records its owner "host:pid": on the same host, a
  pid that no longer runs means the scan has ended, and its unstored tenants will never be written;
- a queue run records `enqueued: false` until every message is on the queue (or its unsent
  tenants were given back): one still false ENQUEUE_GRACE after its start could not queue its
  tenants. Sending is 16 messages at a time, a few seconds for thousands of tenants, so a start
  still in flight is far inside the grace; the timer's retry (function_app.py) comes after it.
A later run takes such tenants over and records them as failed in the dead run, so that run completes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from pal_audit.store import RunRecord

ENQUEUE_GRACE = timedelta(minutes=1)


def this_process() -> str:
    """The owner recorded on a CLI run."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # someone else's process: it runs
        return True
    return True


def dead_reason(run: RunRecord, *, now: datetime, grace: timedelta = ENQUEUE_GRACE, host: str | None = None,
                running: Callable[[int], bool] = pid_running) -> str | None:
    """Why `run` can no longer finish its queued tenants, or None while it may."""
    if run.completed:
        return None
    if run.owner:
        owner_host, _, pid_text = run.owner.rpartition(":")
        here = host if host is not None else socket.gethostname()
        if owner_host == here and pid_text.isdigit() and int(pid_text) != os.getpid() \
                and not running(int(pid_text)):
            return f"the process of run {run.run_id} ({run.owner}) ended before storing it"
    if run.enqueued is False and run.started < now - grace:
        return f"run {run.run_id} could not queue its tenants"
    return None
