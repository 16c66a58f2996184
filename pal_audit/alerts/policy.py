"""Alert policy, pure: what goes out at once, what waits for the run's digest, when a run is a storm.

- Only transitions alert (the store emits a `FindingChange` only when a finding's state changes).
- High severity goes out at once; everything else waits for one digest per run.
- More than `storm_threshold` opening changes (NEW, REOPENED, UNSUPPRESSED) in one run is a storm: what
  has not been sent yet becomes one summary instead of a flood.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pal_audit.alerts.present import AlertItem
from pal_audit.model import Severity, Transition

OPENING: frozenset[Transition] = frozenset({Transition.NEW, Transition.REOPENED, Transition.UNSUPPRESSED})


class Route(StrEnum):
    NOW = "now"
    DIGEST = "digest"


def route(severity: Severity) -> Route:
    return Route.NOW if severity is Severity.HIGH else Route.DIGEST


def opening_count(transitions: Iterable[Transition | str]) -> int:
    return sum(1 for t in transitions if Transition(t) in OPENING)


def is_storm(opening: int, threshold: int) -> bool:
    return opening > threshold


_ORDER = {Transition.NEW: 0, Transition.REOPENED: 1, Transition.UNSUPPRESSED: 2, Transition.RESOLVED: 3}


def digest_order(items: Iterable[AlertItem]) -> list[AlertItem]:
    """Most severe first, openings before resolutions, then by tenant and identity."""
    return sorted(items, key=lambda i: (-i.severity.rank, _ORDER[i.transition], i.tenant, i.identity,
                                        i.check_id, i.finding_id))


@dataclass(frozen=True)
class StormSummary:
    run_id: str
    threshold: int
    opening: int                         # opening changes in the run
    by_transition: dict[str, int]
    by_severity: dict[str, int]
    by_check: list[tuple[str, int]]      # (title, count), most frequent first
    tenants: int
    already_sent: int = 0                # alerted individually before the storm was detected
    top_tenants: list[tuple[str, int]] = field(default_factory=list)


def storm_summary(run_id: str, items: Sequence[AlertItem], threshold: int, *, already_sent: int = 0,
                  opening: int | None = None) -> StormSummary:
    """`items` are the changes the summary replaces; `opening` is the run's total when known."""
    return StormSummary(
        run_id=run_id,
        threshold=threshold,
        opening=opening if opening is not None else sum(1 for i in items if i.opening),
        by_transition=dict(Counter(i.transition.value for i in items).most_common()),
        by_severity={s.value: n for s in Severity if (n := sum(1 for i in items if i.severity is s))},
        by_check=Counter(i.title for i in items).most_common(10),
        tenants=len({i.tenant for i in items}),
        already_sent=already_sent,
        top_tenants=Counter(i.tenant for i in items).most_common(5),
    )


@dataclass(frozen=True)
class RunPlan:
    """What one run sends, decided without state (used by `preview` and the demo)."""

    immediate: list[AlertItem]
    digest: list[AlertItem]
    storm: StormSummary | None


def plan_run(run_id: str, items: Sequence[AlertItem], storm_threshold: int) -> RunPlan:
    if is_storm(opening_count(i.transition for i in items), storm_threshold):
        return RunPlan([], [], storm_summary(run_id, items, storm_threshold))
    now = [i for i in items if route(i.severity) is Route.NOW]
    later = [i for i in items if route(i.severity) is Route.DIGEST]
    return RunPlan(digest_order(now), digest_order(later), None)
