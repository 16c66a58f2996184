"""The adaptive unit limit (pure decisions), the gate that enforces it, and the per-principal cap."""

from __future__ import annotations

import asyncio

import pytest

from pal_audit.engine.concurrency import (
    PRINCIPAL_IN_FLIGHT,
    AdaptiveController,
    Gate,
    PrincipalSlots,
    Sample,
    Tuning,
    UnitLimit,
)

MIB = 1024 * 1024


def window(rate: float, *, throttled: int = 0, rss_mib: int = 100, saturated: bool = True) -> Sample:
    return Sample(seconds=1.0, calls=int(rate), throttled=throttled, rss_bytes=rss_mib * MIB,
                  saturated=saturated)


def drive(controller: AdaptiveController, rate_at: dict[int, float] | None = None, windows: int = 40,
          rate_of=None) -> list[int]:
    """Feed windows whose call rate depends on the limit in force; returns the limits taken."""
    limits = []
    for _ in range(windows):
        rate = rate_of(controller.limit) if rate_of else rate_at[controller.limit]
        limits.append(controller.observe(window(rate)))
    return limits


def latency_bound(latency_s: float, cpu_rate: float):
    """Calls per second of a client whose units make 8 calls each: latency-bound until the CPU caps it."""
    return lambda limit: min(limit * 8 / (latency_s * 5), cpu_rate)


def test_grows_while_throughput_rises_and_settles_where_it_stops() -> None:
    c = AdaptiveController(Tuning(start=32, ceiling=256))
    drive(c, rate_of=latency_bound(0.3, cpu_rate=1000.0), windows=40)
    # 1,000 calls/s at 0.3 s latency need about 188 units; one step more bought nothing.
    assert 150 <= c.limit <= 256
    assert latency_bound(0.3, 1000.0)(c.limit) >= 0.8 * 1000


def test_does_not_grow_past_where_the_cpu_is_the_bottleneck() -> None:
    c = AdaptiveController(Tuning(start=32, ceiling=256))
    drive(c, rate_of=latency_bound(0.05, cpu_rate=400.0), windows=40)
    # At 50 ms, 400 calls/s is reached at 12.5 units: the limit stays at or near the start.
    assert c.limit <= 48


def test_never_exceeds_the_ceiling_or_goes_below_the_floor() -> None:
    c = AdaptiveController(Tuning(start=32, floor=4, ceiling=64))
    limits = drive(c, rate_of=lambda n: n * 100.0, windows=30)
    assert max(limits) == 64
    for _ in range(10):
        c.observe(window(100, throttled=3))
    assert c.limit == 4


def test_halves_on_429_and_waits_before_growing_again() -> None:
    c = AdaptiveController(Tuning(start=100, ceiling=256))
    assert c.observe(window(500, throttled=1)) == 50
    # The windows after the cut hold the limit even though the rate rises.
    held = [c.observe(window(500 + i)) for i in range(Tuning().reprobe_after)]
    assert held == [50] * len(held)


def test_shrinks_while_memory_is_over_budget() -> None:
    c = AdaptiveController(Tuning(start=100, memory_budget_bytes=500 * MIB))
    assert c.observe(window(500, rss_mib=600)) == 75
    assert c.observe(window(500, rss_mib=600)) == 56
    assert c.observe(window(500, rss_mib=400)) == 56


def test_does_not_grow_when_units_were_not_waiting_on_the_limit() -> None:
    c = AdaptiveController(Tuning(start=32))
    for _ in range(10):
        c.observe(window(500, saturated=False))
    assert c.limit == 32


def test_rejects_a_floor_above_the_ceiling() -> None:
    with pytest.raises(ValueError, match="floor 10"):
        AdaptiveController(Tuning(floor=10, ceiling=5))


def test_pinned_limit_never_moves() -> None:
    now = [0.0]
    limit = UnitLimit(pinned=32, clock=lambda: now[0])
    for _ in range(200):
        now[0] += 0.1
        limit.call_answered(429)
        limit.unit_done()
    assert limit.limit == 32 and limit.controller is None


def test_unit_limit_decides_once_per_window_and_at_once_on_429() -> None:
    now = [0.0]
    limit = UnitLimit(tuning=Tuning(start=8), clock=lambda: now[0], rss=lambda: 0, min_window=0.5)
    limit.gate.saturated = True
    for _ in range(8):          # 8 units in 1 s: windows close after half of them (and 0.5 s)
        now[0] += 0.125
        limit.call_answered(200)
        limit.unit_done()
    assert limit.limit == 12    # grew by 1.5x
    limit.call_answered(429)    # no need to wait for the window to end
    assert limit.limit == 6


async def test_gate_admits_up_to_its_limit_and_follows_changes() -> None:
    gate = Gate(2)
    inside, peak = 0, 0
    release = asyncio.Event()

    async def unit() -> None:
        nonlocal inside, peak
        async with gate:
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(unit()) for _ in range(10)]
    await asyncio.sleep(0.01)
    assert (inside, gate.saturated) == (2, True)
    gate.limit = 5
    await asyncio.sleep(0.01)
    assert inside == 5
    gate.limit = 1              # lowering never evicts; it stops admissions
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 5 and gate.in_flight == 0


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    gate = Gate(1)
    await gate.__aenter__()
    waiter = asyncio.create_task(gate.__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await gate.__aexit__()
    assert gate.in_flight == 0
    async with gate:
        assert gate.in_flight == 1


def test_principal_slots_are_shared_per_tenant_and_principal_and_dropped_when_unused() -> None:
    slots = PrincipalSlots()
    a = slots.open("T1", "ops-app")
    assert slots.open("t1", "ops-app") is a
    assert slots.open("T2", "ops-app") is not a
    slots.close("T1", "ops-app")
    slots.close("T1", "ops-app")
    slots.close("T2", "ops-app")
    assert len(slots) == 0
    assert PRINCIPAL_IN_FLIGHT <= 25    # under ARM's 25-per-second refill even at 1 s per call


def cpu_window(rate: float, *, units: int, in_flight_s: float, cpu_per_unit_s: float) -> Sample:
    return Sample(seconds=1.0, calls=int(rate), throttled=0, rss_bytes=100 * MIB, saturated=True,
                  units=units, unit_seconds=units * in_flight_s, cpu_seconds=units * cpu_per_unit_s)


def test_steps_straight_towards_the_units_that_keep_the_cpu_busy() -> None:
    # 300 ms calls: a unit is in flight 1.5 s for 6 ms of CPU, so ~250 units keep the CPU busy.
    c = AdaptiveController(Tuning(start=32, ceiling=512))
    assert c.observe(cpu_window(170, units=32, in_flight_s=1.5, cpu_per_unit_s=0.006)) == 128   # 4x at most
    c.observe(cpu_window(300, units=64, in_flight_s=1.5, cpu_per_unit_s=0.006))                 # settling
    assert c.observe(cpu_window(680, units=128, in_flight_s=1.5, cpu_per_unit_s=0.006)) == 300  # 250 x 1.2
    # Two steps instead of five at 1.5x: a 1,000-tenant audit no longer spends its life climbing.


def test_a_small_estimate_still_grows_by_the_smallest_step_and_a_busy_cpu_tries_fewer_units() -> None:
    c = AdaptiveController(Tuning(start=32))
    assert c.observe(cpu_window(500, units=32, in_flight_s=0.1, cpu_per_unit_s=0.006)) == 48
    busy = AdaptiveController(Tuning(start=32))
    # 160 units x 6 ms = 0.96 s of CPU in a 1 s window: busier than Tuning.busy, so no step up
    assert busy.observe(cpu_window(500, units=160, in_flight_s=1.5, cpu_per_unit_s=0.006)) == 27   # 32 x 0.85


def cpu_bound(latency_s: float, cpu_rate: float):
    """A client whose units make 8 calls each, 5 rounds of `latency_s`; the CPU serves `cpu_rate`
    calls a second. Returns the window a given limit produces."""
    def window_at(limit: int) -> Sample:
        rate = min(limit * 8 / (latency_s * 5), cpu_rate)
        units = rate / 8
        return Sample(seconds=1.0, calls=int(rate), throttled=0, rss_bytes=100 * MIB, saturated=True,
                      units=int(units), unit_seconds=units * latency_s * 5, cpu_seconds=rate / cpu_rate)
    return window_at


def test_a_long_cpu_bound_audit_settles_near_the_knee_instead_of_ratcheting_up() -> None:
    # 50 ms calls, a CPU serving 1,000 calls a second: 32 units keep it busy. Started far above,
    # the limit comes down while the rate holds (memory follows units in flight) and stays near.
    window_at = cpu_bound(0.05, 1000.0)
    c = AdaptiveController(Tuning(start=512, ceiling=512))
    settled = [c.observe(window_at(c.limit)) for _ in range(120)][60:]
    assert max(settled) <= 64
    # Most windows run at the knee or above; the rest are the brief probes 15% below it.
    assert sum(limit >= 32 for limit in settled) >= 0.75 * len(settled)
    assert sum(window_at(limit).calls for limit in settled) >= 0.95 * 1000 * len(settled)


def test_at_300_ms_it_climbs_to_the_knee_and_stays_there() -> None:
    window_at = cpu_bound(0.3, 1000.0)          # 188 units keep the CPU busy
    c = AdaptiveController(Tuning(start=128, ceiling=512))
    settled = [c.observe(window_at(c.limit)) for _ in range(120)][40:]
    assert max(settled) <= 376
    assert sum(limit >= 188 for limit in settled) >= 0.75 * len(settled)
    assert sum(window_at(limit).calls for limit in settled) >= 0.95 * 1000 * len(settled)


def test_unit_limit_hands_the_controller_unit_times_and_cpu() -> None:
    now, cpu = [0.0], [0.0]
    limit = UnitLimit(tuning=Tuning(start=8), clock=lambda: now[0], cpu_clock=lambda: cpu[0],
                      rss=lambda: 0, min_window=0.5)
    limit.gate.saturated = True
    for _ in range(8):
        now[0] += 0.125
        cpu[0] += 0.002
        limit.call_answered(200)
        limit.unit_done(1.0)     # 1 s in flight for 2 ms of CPU: 500 units, 600 with headroom
    assert limit.limit == 32     # capped at 4x the 8 in force
