"""What a run would send, without any state: for `pal-audit demo` and dry runs. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from pal_audit.alerts.messages import Message, alert_message, digest_message, storm_message
from pal_audit.alerts.policy import plan_run
from pal_audit.alerts.present import item_from_change
from pal_audit.model import FindingChange


def preview(changes: Sequence[FindingChange], *, storm_threshold: int = 25,
            mask_tenant_ids: bool = False) -> list[Message]:
    """The messages of each run in `changes`, in sending order (immediate alerts, then the digest)."""
    out: list[Message] = []
    for run_id in dict.fromkeys(c.run_id for c in changes):
        items = [item_from_change(c, mask=mask_tenant_ids) for c in changes if c.run_id == run_id]
        plan = plan_run(run_id, items, storm_threshold)
        out += [alert_message(f"{run_id}/{i.finding_id}|{i.transition.value}", i) for i in plan.immediate]
        if plan.digest:
            out.append(digest_message(f"{run_id}/digest", run_id, plan.digest))
        if plan.storm:
            out.append(storm_message(f"{run_id}/storm", plan.storm))
    return out
