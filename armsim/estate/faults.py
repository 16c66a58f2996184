"""Reading the estate's `faults:` section: ARM throttling limits and injected failure rules."""

from __future__ import annotations

from typing import Any

from armsim.estate.fields import FieldReader
from armsim.estate.model import FailRule, Throttle


def read_faults(
    reader: FieldReader, raw: Any, tenant_ids: set[str]
) -> tuple[Throttle | None, tuple[FailRule, ...]]:
    if raw is None:
        return Throttle(), ()
    m = reader.mapping(raw, "faults", (), ("throttle", "fail"))
    throttle = _read_throttle(reader, m["throttle"]) if "throttle" in m else Throttle()
    rules = tuple(
        _read_fail_rule(reader, r, f"faults.fail[{i}]", tenant_ids)
        for i, r in enumerate(reader.seq(m.get("fail"), "faults.fail"))
    )
    return throttle, rules


def _read_throttle(reader: FieldReader, raw: Any) -> Throttle | None:
    if raw is False or raw is None:
        return None  # `throttle: false` turns ARM throttling off
    p = "faults.throttle"
    m = reader.mapping(raw, p, (), ("reads_burst", "reads_per_second", "writes_burst", "writes_per_second"))
    default = Throttle()

    def burst(key: str, otherwise: int) -> int:
        return reader.number(m[key], f"{p}.{key}", integer=True, low=1, high=10**9) if key in m else otherwise

    def rate(key: str, otherwise: float) -> float:
        return (
            reader.number(m[key], f"{p}.{key}", integer=False, low=0.001, high=10**9)
            if key in m
            else otherwise
        )

    return Throttle(
        reads_burst=burst("reads_burst", default.reads_burst),
        reads_per_second=rate("reads_per_second", default.reads_per_second),
        writes_burst=burst("writes_burst", default.writes_burst),
        writes_per_second=rate("writes_per_second", default.writes_per_second),
    )


def _read_fail_rule(reader: FieldReader, raw: Any, p: str, tenant_ids: set[str]) -> FailRule:
    fm = reader.mapping(
        raw,
        p,
        ("match", "status"),
        ("tenant_id", "principal", "method", "times", "code", "message", "retry_after", "delay_ms"),
    )
    tid = reader.opt(fm, "tenant_id", p, reader.guid)
    if tid is not None and tid not in tenant_ids:
        raise reader.fail(f"{p}.tenant_id", f"tenant {tid} is not in the estate")
    method = reader.opt(fm, "method", p, reader.text)
    return FailRule(
        match=reader.text(fm["match"], f"{p}.match"),
        status=reader.number(fm["status"], f"{p}.status", integer=True, low=400, high=599),
        tenant_id=tid,
        principal=reader.opt(fm, "principal", p, reader.guid),
        method=method.upper() if method else None,
        times=reader.opt(fm, "times", p, reader.number, integer=True, low=1, high=10**9),
        code=reader.opt(fm, "code", p, reader.text),
        message=reader.opt(fm, "message", p, reader.text),
        retry_after=reader.opt(fm, "retry_after", p, reader.number, integer=True, low=0, high=3600),
        delay_ms=reader.opt(fm, "delay_ms", p, reader.number, integer=True, low=0, high=600_000) or 0,
    )
