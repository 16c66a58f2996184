"""Request counts for `GET /_armsim/stats`, and a bounded log of recent requests for tests."""

from __future__ import annotations

from collections import Counter, deque
from typing import TypedDict


class RequestRecord(TypedDict):
    """One answered request in `GET /_armsim/requests`: no headers, bodies, secrets or tokens."""

    operation: str
    status: int
    method: str
    path: str
    query: dict[str, str]
    tenant_id: str | None
    principal_id: str | None


class StatsSnapshot(TypedDict):
    """The body of `GET /_armsim/stats`."""

    total: int
    by_operation: dict[str, int]
    by_status: dict[str, int]  # JSON keys are strings: "200", "429", ...


class Stats:
    def __init__(self, keep: int = 10_000) -> None:
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_operation: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.recent: deque[RequestRecord] = deque(maxlen=self._keep)

    def record(
        self,
        operation: str,
        status: int,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        tenant_id: str | None,
        principal_id: str | None,
    ) -> None:
        """Count one answered request. The log never holds headers, bodies, secrets or tokens."""
        self.total += 1
        self.by_operation[operation] += 1
        self.by_status[status] += 1
        self.recent.append(
            {
                "operation": operation,
                "status": status,
                "method": method,
                "path": path,
                "query": query,
                "tenant_id": tenant_id,
                "principal_id": principal_id,
            }
        )

    def snapshot(self) -> StatsSnapshot:
        return {
            "total": self.total,
            "by_operation": dict(sorted(self.by_operation.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
        }
