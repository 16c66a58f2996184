"""When a later run may take over the tenants a dead run still claims (pal_audit.service.liveness)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from pal_audit.service.liveness import ENQUEUE_GRACE, dead_reason
from pal_audit.store import RunRecord

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def run(*, owner: str | None = None, enqueued: bool | None = None, started: datetime = NOW,
        status: str = "running") -> RunRecord:
    return RunRecord("20260301T020000Z-1a2b3c4d", "cli" if owner else "timer", status, started, None,
                     10, 1, 0, 0, owner=owner, enqueued=enqueued)


def test_a_cli_run_whose_process_ended_on_this_host_is_dead():
    reason = dead_reason(run(owner="box:4242"), now=NOW, host="box", running=lambda pid: False)
    assert reason is not None and "box:4242" in reason and "ended" in reason


def test_a_cli_run_still_running_elsewhere_or_here_is_alive():
    assert dead_reason(run(owner="box:4242"), now=NOW, host="box", running=lambda pid: True) is None
    assert dead_reason(run(owner="other:4242"), now=NOW, host="box", running=lambda pid: False) is None
    mine = run(owner=f"box:{os.getpid()}")
    assert dead_reason(mine, now=NOW, host="box", running=lambda pid: False) is None


def test_a_queue_run_that_never_finished_queuing_is_dead_only_after_the_grace():
    fresh = run(enqueued=False, started=NOW - ENQUEUE_GRACE + timedelta(seconds=5))
    stale = run(enqueued=False, started=NOW - ENQUEUE_GRACE - timedelta(seconds=5))
    assert dead_reason(fresh, now=NOW) is None
    assert "could not queue" in (dead_reason(stale, now=NOW) or "")
    old = run(started=NOW - timedelta(hours=1))            # queued fine, or recorded before the flag
    assert dead_reason(old, now=NOW) is None and dead_reason(run(enqueued=True, started=old.started),
                                                             now=NOW) is None


def test_a_completed_run_is_never_dead():
    done = run(enqueued=False, started=NOW - timedelta(hours=1), status="completed")
    assert dead_reason(done, now=NOW) is None
