"""How many units run at once: an adaptive limit, a gate that enforces it, and a per-principal cap.

The adaptive limit makes throughput independent of latency: a fixed limit that suits 50 ms leaves
the CPU idle at 300 ms. It grows while the audit's rate of completed ARM calls rises and no 429
comes back, halves on a 429 (multiplicative decrease) and shrinks while the process's RSS is above
its memory budget, always between a floor and a ceiling the user can set. When more units stop
buying more calls per second (the CPU is the bottleneck), it stops growing.

`AdaptiveController` is the pure decision (samples in, limit out); `Gate` admits units under
whatever the current limit is; `PrincipalSlots` caps the requests one principal has in flight in
one tenant, whatever the unit limit (ARM throttles per principal).
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from azure.core.pipeline.policies import AsyncHTTPPolicy

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineRequest, PipelineResponse
    from azure.core.rest import AsyncHttpResponse, HttpRequest

DEFAULT_START = 128         # no unit finishes before its calls come back: start where 300 ms needs
DEFAULT_FLOOR = 4
DEFAULT_CEILING = 512       # --max-concurrency: enough to keep the CPU busy at 500 ms per call
DEFAULT_MEMORY_BUDGET_MIB = 1024

# ARM refills a principal's read bucket at 25 requests per second (burst 250), per tenant and
# region. A unit makes about 8 calls, at most 6 of them at once (4 subscription lists and 2 PIM
# lists), and a reader named by assignments_via serves up to every identity of its tenant at the
# same moment. 12 in flight lets two such units overlap fully; at ARM's 100 ms or more per call
# that is at most 120 requests per second for a burst that lasts a unit's life (a few dozen calls),
# well inside the 250-token bucket, so a principal never drains its bucket however high the unit
# limit climbs.
PRINCIPAL_IN_FLIGHT = 12

# A window closes when this share of the units in flight has finished: half a turnover settles a
# change and half measures it, so a step costs one turnover (about 1.5 s at 300 ms per call).
WINDOW_TURNOVER = 0.5


@dataclass(frozen=True)
class Sample:
    """What happened since the last decision."""

    seconds: float
    calls: int              # ARM/Entra calls answered (any status but 429)
    throttled: int          # 429 answers
    rss_bytes: int
    saturated: bool         # the gate was full at some point: the limit was what held units back
    units: int = 0          # units that finished in the window
    unit_seconds: float = 0.0   # their time in flight, summed
    cpu_seconds: float = 0.0    # the process's CPU time in the window


@dataclass(frozen=True)
class Tuning:
    start: int = DEFAULT_START
    floor: int = DEFAULT_FLOOR
    ceiling: int = DEFAULT_CEILING
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_MIB * 1024 * 1024
    grow_factor: float = 1.5        # the smallest step up
    max_jump: float = 4.0           # the largest step up Little's law may take at once
    headroom: float = 1.2           # aim this far above the units the CPU can serve
    busy: float = 0.9               # a CPU this busy gains little from more units
    shrink_factor: float = 0.85     # a step down while the CPU is busy: fewer units, less memory
    keep_after_shrink: float = 0.97  # a step down is kept if the rate stays within 3%
    gain_to_keep_growing: float = 1.05   # throughput must rise by 5% to justify the last step
    throttle_factor: float = 0.5
    memory_factor: float = 0.75
    reprobe_after: int = 8          # windows at a plateau before trying one step higher again


class AdaptiveController:
    """Grow while the call rate rises, step back to the last good limit when a step bought less than
    `gain_to_keep_growing`, step down while the CPU is busy and the rate holds, cut on a 429 or
    memory pressure.

    How far to grow comes from Little's law: units in flight = completions per second x seconds in
    flight. The CPU can complete at most 1 / (CPU per unit) units a second, so keeping it busy takes
    (seconds a unit is in flight) / (CPU per unit) units in flight: at 300 ms per call, about 1.5 s
    over 6 ms, some 250. A step goes there at once (at most `max_jump` times the limit, at least
    `grow_factor`), so a short audit does not spend its life climbing; the rate check still decides
    whether the step is kept.

    Pure: `observe(sample)` returns the new limit and touches nothing else. The window right after
    a change is not compared (units started under the old limit are still finishing), so every
    comparison is between two settled windows.
    """

    def __init__(self, tuning: Tuning | None = None) -> None:
        self.tuning = t = tuning or Tuning()
        if not 1 <= t.floor <= t.ceiling:
            raise ValueError(f"concurrency floor {t.floor} must be between 1 and the ceiling {t.ceiling}")
        self.limit = self._clamp(t.start)
        self._best_limit = self.limit   # the highest limit whose step paid off
        self._best_rate = 0.0           # calls per second measured at it
        self._probing = False           # the limit is a step up whose gain is not known yet
        self._shrinking = False         # the limit is a step down whose cost is not known yet
        self._settling = False          # the next window still mixes old and new limits
        self._hold = 0                  # windows to wait before the next step up

    def _clamp(self, value: float) -> int:
        return int(min(max(value, self.tuning.floor), self.tuning.ceiling))

    def observe(self, sample: Sample) -> int:
        t = self.tuning
        if sample.throttled:
            return self._cut(t.throttle_factor)
        if sample.rss_bytes > t.memory_budget_bytes:
            return self._cut(t.memory_factor)
        if self._settling:
            self._settling = False
            return self.limit
        rate = sample.calls / sample.seconds if sample.seconds > 0 else 0.0
        if self._probing:
            self._probing = False
            if rate < self._best_rate * t.gain_to_keep_growing:
                # The step bought (almost) nothing: the bottleneck is elsewhere (CPU). Go back.
                return self._back_to_best()
        if self._shrinking:
            self._shrinking = False
            if rate < self._best_rate * t.keep_after_shrink:
                return self._back_to_best()     # the fewer units could not keep the rate
        self._best_limit, self._best_rate = self.limit, rate
        if self._hold:
            self._hold -= 1
            return self.limit
        busy = sample.cpu_seconds / sample.seconds if sample.seconds > 0 else 0.0
        if busy >= t.busy:
            # The CPU is the bottleneck: try fewer units. Without this a long audit ratchets up to
            # the ceiling (each step up that noise lets through is kept), and memory follows.
            lower = self._clamp(self.limit * t.shrink_factor)
            if lower < self.limit:
                self.limit, self._shrinking, self._settling = lower, True, True
            return self.limit
        if not sample.saturated:        # units were not waiting on the limit: more changes nothing
            return self.limit
        grown = self._clamp(max(self.limit + 1, self.limit * t.grow_factor,
                                min(self._needed(sample), self.limit * t.max_jump)))
        if grown != self.limit:
            self.limit, self._probing, self._settling = grown, True, True
        return self.limit

    def _back_to_best(self) -> int:
        self.limit, self._hold, self._settling = self._best_limit, self.tuning.reprobe_after, True
        return self.limit

    def _needed(self, sample: Sample) -> float:
        """Units in flight that would keep the CPU busy (Little's law); 0 when unknown."""
        if not sample.units or sample.cpu_seconds <= 0:
            return 0.0
        return sample.unit_seconds / sample.cpu_seconds * self.tuning.headroom

    def _cut(self, factor: float) -> int:
        t = self.tuning
        self.limit = self._clamp(self.limit * factor)
        self._best_limit, self._best_rate, self._probing, self._shrinking = self.limit, 0.0, False, False
        self._settling, self._hold = True, t.reprobe_after
        return self.limit


def rss_bytes() -> int:
    """The process's resident set now (Linux), else its peak so far (what `resource` offers)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Gate:
    """Admits at most `limit` holders at once; the limit may change while holders are inside
    (a lower limit only stops admissions until enough have left)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.in_flight = 0
        self.saturated = False          # someone had to wait since the flag was last cleared
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = value
        self._wake()

    async def __aenter__(self) -> None:
        if self.in_flight < self._limit and not self._waiters:
            self.in_flight += 1
            return
        self.saturated = True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()         # admitted and cancelled at once: hand the place on
            else:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self._limit:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)


class UnitLimit:
    """The units-in-flight limit of an audit: pinned (`--concurrency N`) or adaptive.

    Counts the calls answered and the 429s (from `CallObserver`), and once per window (half a
    turnover of the units in flight, at least `min_window` seconds) feeds a Sample to the
    controller, which sets the gate's limit. A 429 closes the window at once.
    """

    def __init__(self, *, pinned: int | None = None, tuning: Tuning | None = None,
                 clock: Callable[[], float] = time.monotonic, rss: Callable[[], int] = rss_bytes,
                 cpu_clock: Callable[[], float] = time.process_time, min_window: float = 0.5) -> None:
        if pinned is not None and pinned < 1:
            raise ValueError(f"concurrency must be at least 1, not {pinned}")
        self.controller: AdaptiveController | None = None
        if pinned is None:
            self.controller = AdaptiveController(tuning)
        self.gate = Gate(self.controller.limit if self.controller is not None else pinned or 1)
        self.pinned = pinned is not None
        self._clock, self._rss, self._cpu_clock, self._min_window = clock, rss, cpu_clock, min_window
        self._start, self._cpu_start = clock(), cpu_clock()
        self._calls = self._throttled = self._units = 0
        self._unit_seconds = 0.0
        self.peak_limit = self.gate.limit
        self.history: list[int] = [self.gate.limit]     # each limit taken, for the benchmark

    @property
    def limit(self) -> int:
        return self.gate.limit

    def call_answered(self, status: int) -> None:
        if status == 429:
            self._throttled += 1
            self._maybe_decide(force=True)
        else:
            self._calls += 1

    def unit_done(self, seconds: float = 0.0) -> None:
        """A unit left the gate after `seconds` in flight."""
        self._units += 1
        self._unit_seconds += seconds
        self._maybe_decide()

    def _maybe_decide(self, force: bool = False) -> None:
        if self.controller is None:
            return
        elapsed = self._clock() - self._start
        if not force and (self._units < self.gate.limit * WINDOW_TURNOVER or elapsed < self._min_window):
            return
        cpu_now = self._cpu_clock()
        sample = Sample(seconds=elapsed, calls=self._calls, throttled=self._throttled,
                        rss_bytes=self._rss(), saturated=self.gate.saturated, units=self._units,
                        unit_seconds=self._unit_seconds, cpu_seconds=cpu_now - self._cpu_start)
        new = self.controller.observe(sample)
        if new != self.gate.limit:
            self.gate.limit = new
            self.history.append(new)
            self.peak_limit = max(self.peak_limit, new)
        self._start, self._cpu_start, self._calls, self._throttled = self._clock(), cpu_now, 0, 0
        self._units, self._unit_seconds = 0, 0.0
        self.gate.saturated = self.gate.in_flight >= self.gate.limit


class PrincipalSlots:
    """One semaphore per (tenant, principal) while some session of it is open, so the requests
    in flight for one principal stay under PRINCIPAL_IN_FLIGHT however many units share it."""

    def __init__(self, per_principal: int = PRINCIPAL_IN_FLIGHT) -> None:
        self.per_principal = per_principal
        self._slots: dict[tuple[str, str], tuple[asyncio.Semaphore, int]] = {}

    def open(self, tenant_id: str, principal: str) -> asyncio.Semaphore:
        key = (tenant_id.lower(), principal)
        sem, refs = self._slots.get(key) or (asyncio.Semaphore(self.per_principal), 0)
        self._slots[key] = (sem, refs + 1)
        return sem

    def close(self, tenant_id: str, principal: str) -> None:
        key = (tenant_id.lower(), principal)
        sem, refs = self._slots[key]
        if refs <= 1:
            del self._slots[key]        # nothing kept per finished principal: memory stays flat
        else:
            self._slots[key] = (sem, refs - 1)

    def __len__(self) -> int:
        return len(self._slots)


class CallObserver(AsyncHTTPPolicy["HttpRequest", "AsyncHttpResponse"]):
    """A per-retry pipeline policy: holds the principal's slot for each HTTP attempt (not while
    the retry policy sleeps) and reports each answer's status to the unit limit."""

    def __init__(self, slot: asyncio.Semaphore, limit: UnitLimit | None = None) -> None:
        super().__init__()
        self._slot, self._limit = slot, limit

    async def send(self, request: PipelineRequest[HttpRequest]
                   ) -> PipelineResponse[HttpRequest, AsyncHttpResponse]:
        async with self._slot:
            response = await self.next.send(request)
        if self._limit is not None:
            self._limit.call_answered(response.http_response.status_code)
        return response
