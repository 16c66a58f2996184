"""ARM's token-bucket throttling (Microsoft Learn: "Understand how Azure Resource Manager throttles
requests"): one bucket per tenant, principal and kind."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from armsim.estate import Throttle


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds until one token is back (0 when allowed)


class Buckets:
    """Reads and writes (deletes count as writes) drain separate buckets that refill continuously."""

    def __init__(self, limits: Throttle | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._state: dict[tuple[str, str, str], list[float]] = {}  # key -> [tokens, last refill]

    def take(self, tenant_id: str, principal_id: str, kind: str) -> Decision:
        if self.limits is None:
            return Decision(True, 0, 0)
        burst, rate = (
            (self.limits.reads_burst, self.limits.reads_per_second)
            if kind == "read"
            else (self.limits.writes_burst, self.limits.writes_per_second)
        )
        now = self.clock()
        state = self._state.setdefault((tenant_id, principal_id, kind), [float(burst), now])
        tokens = min(float(burst), state[0] + (now - state[1]) * rate)
        state[1] = now
        if tokens >= 1:
            state[0] = tokens - 1
            return Decision(True, int(state[0]), 0)
        state[0] = tokens
        return Decision(False, 0, max(1, math.ceil((1 - tokens) / rate)))
