"""Estate validation: every mistake is named by file, path and problem; good estates load as meant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from armsim_support import ESTATE_FILE, FABRIKAM, OPS_OID, SUB_DEV, estate_data

from armsim import EstateError, load_estate, parse_estate

T0 = "tenants[0]"


def principal(data: dict, name: str) -> dict[str, Any]:
    return next(p for p in data["tenants"][0]["principals"] if p.get("name") == name)


def test_the_test_estate_and_the_demo_estate_load() -> None:
    estate = load_estate(ESTATE_FILE)
    fabrikam = estate.tenants[0]
    assert (fabrikam.tenant_id, fabrikam.name) == (FABRIKAM, "Fabrikam")
    dev = next(s for s in fabrikam.subscriptions if s.subscription_id == SUB_DEV)
    assert dev.resource_groups == ("rg-pim",)  # resource groups named in scopes exist implicitly
    assert dev.management_group == FABRIKAM  # no group: directly under the tenant root group
    assert estate.throttle is None  # `throttle: false`
    demo = Path(__file__).resolve().parents[3] / "examples" / "estate.yaml"
    assert len(load_estate(demo).tenants) >= 6


def test_assignment_ids_are_stable_and_distinct_between_active_and_eligible() -> None:
    first, second = load_estate(ESTATE_FILE), load_estate(ESTATE_FILE)
    ids = [a.assignment_id for a in first.tenants[0].role_assignments]
    assert ids == [a.assignment_id for a in second.tenants[0].role_assignments]
    eligible = {a.assignment_id for a in first.tenants[0].eligible_assignments}
    assert len(set(ids)) == len(ids) and not eligible & set(ids)


def test_defaults_throttle_at_arm_limits() -> None:
    data = estate_data()
    del data["faults"]
    throttle = parse_estate(data).throttle
    assert throttle is not None and (throttle.reads_burst, throttle.reads_per_second) == (250, 25)


def edit(change) -> dict:
    data = estate_data()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (lambda d: d.update(tenant=[]), "tenant", "unknown key"),
        (lambda d: d["tenants"][0].update(tenant_id="nope"), f"{T0}.tenant_id", "not a GUID"),
        (lambda d: d["tenants"].append(dict(d["tenants"][0])), "tenants[3].tenant_id", "duplicate tenant"),
        (lambda d: d["partners"][0].update(partner_id="12a"), "partners[0].partner_id", "digits only"),
        (
            lambda d: principal(d, "ops-app").update(type="Robot"),
            f"{T0}.principals[0].type",
            "expected one of",
        ),
        (lambda d: principal(d, "ops-app").pop("app_id"), f"{T0}.principals[0].app_id", "required key"),
        (
            lambda d: principal(d, "ops-app").update(pal={"partner_id": "5555555"}),
            f"{T0}.principals[0].pal.partner_id",
            "not in the estate's partners",
        ),
        (
            lambda d: principal(d, "ops-app").update(member_of=[OPS_OID]),
            f"{T0}.principals[0].member_of[0]",
            "not a Group principal",
        ),
        (
            lambda d: principal(d, "partner-engineers").update(secret="x"),
            f"{T0}.principals[1].secret",
            "only a ServicePrincipal",
        ),
        (
            lambda d: principal(d, "ops-app").update(certificate="not pem"),
            f"{T0}.principals[0].certificate",
            "not a PEM X.509 certificate",
        ),
        (
            lambda d: d["tenants"][0]["role_assignments"][0].update(role="Superuser"),
            f"{T0}.role_assignments[0].role",
            "unknown role 'Superuser'",
        ),
        (
            lambda d: d["tenants"][0]["role_assignments"][0].update(
                scope="/subscriptions/5b000000-0000-0000-0000-0000000000c1"
            ),
            f"{T0}.role_assignments[0].scope",
            "not a subscription of this tenant",
        ),
        (
            lambda d: d["tenants"][0]["role_assignments"][0].update(
                scope="/providers/Microsoft.Management/managementGroups/x"
            ),
            f"{T0}.role_assignments[0].scope",
            "unknown management group",
        ),
        (
            lambda d: d["tenants"][0]["role_assignments"][0].update(scope="/resourceGroups/rg"),
            f"{T0}.role_assignments[0].scope",
            "not an ARM scope",
        ),
        (
            lambda d: d["tenants"][0]["role_assignments"].append(
                dict(d["tenants"][0]["role_assignments"][0])
            ),
            f"{T0}.role_assignments[12]",
            "duplicate assignment",
        ),
        (
            lambda d: d["tenants"][0]["management_groups"][0].update(parent="mg-child"),
            f"{T0}.management_groups[0].parent",
            "cycle",
        ),
        (
            lambda d: d["tenants"][0]["subscriptions"][0].update(management_group="mg-x"),
            f"{T0}.subscriptions[0].management_group",
            "unknown management group",
        ),
        (
            lambda d: d.update(faults={"fail": [{"match": "x", "status": 200}]}),
            "faults.fail[0].status",
            "from 400 to 599",
        ),
        (
            lambda d: d.update(faults={"throttle": {"reads_burst": 0}}),
            "faults.throttle.reads_burst",
            "from 1",
        ),
        (
            lambda d: principal(d, "federated-app")["federated_credentials"][0].update(issuer="https://x"),
            f"{T0}.principals[7].federated_credentials[0]",
            "exactly one of",
        ),
    ],
)
def test_errors_name_the_file_the_path_and_the_problem(change, where: str, problem: str) -> None:
    with pytest.raises(EstateError) as e:
        parse_estate(edit(change), source="estate.yaml")
    message = str(e.value)
    assert message.startswith(f"estate.yaml: {where}: "), message
    assert problem in message


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(EstateError, match="cannot read estate file"):
        load_estate(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(EstateError, match="empty"):
        load_estate(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("tenants: [\n")
    with pytest.raises(EstateError, match="not valid YAML"):
        load_estate(broken)


def _timed(**dates: Any) -> dict:
    data = estate_data()
    data["tenants"][0]["role_assignments"].append(
        {"principal": OPS_OID, "role": "Reader", "scope": f"/subscriptions/{SUB_DEV}", **dates}
    )
    return data


def test_time_bound_assignments_read_absolute_and_relative_dates() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    estate = parse_estate(_timed(start="-2h", end="2026-12-05T08:00:00Z"), now=now)
    a = estate.tenants[0].role_assignments[-1]
    assert (a.start, a.end) == (now - timedelta(hours=2), datetime(2026, 12, 5, 8, tzinfo=UTC))
    assert a.in_effect(now) and not a.in_effect(datetime(2026, 12, 5, 8, tzinfo=UTC))
    b = parse_estate(_timed(end="+5d"), now=now).tenants[0].role_assignments[-1]
    assert (b.start, b.end) == (None, now + timedelta(days=5))


@pytest.mark.parametrize(
    ("dates", "problem"),
    [
        ({"end": "soon"}, "role_assignments[12].end: expected an ISO 8601 UTC date-time"),
        ({"end": "2026-12-01T08:00:00+02:00"}, "role_assignments[12].end: expected an ISO 8601 UTC"),
        ({"start": "+2d", "end": "+1d"}, "role_assignments[12].end: ends ("),
    ],
)
def test_bad_dates_are_named(dates: dict, problem: str) -> None:
    with pytest.raises(EstateError) as e:
        parse_estate(_timed(**dates), source="e.yaml")
    assert f"e.yaml: {T0}.{problem}" in str(e.value)
