"""Generate a synthetic estate (armsim) and the matching registry for benchmarks.

Each tenant: 3 partner identities (a multi-tenant app registration's service principals),
4 subscriptions under a management group that every identity can see, a mix of roles so
that every code path runs:
an MG-inherited Support Request Contributor, a Contributor via a group, an Owner at a
subscription, PIM eligibility, a custom role. Deterministic for a given size.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

import yaml

PARTNER_ID = "1234567"
IDENTITIES = ("ops-app", "deploy-app", "monitor-app")


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "pal-audit-bench/" + "/".join(map(str, parts))))


def client_id(identity: str) -> str:
    return _guid("app", identity)


def secret(identity: str) -> str:
    return f"sim-only-bench-{identity}"


def tenant(i: int, subscriptions: int) -> dict[str, Any]:
    tid = _guid("tenant", i)
    subs = [_guid("sub", i, s) for s in range(subscriptions)]
    principals: list[dict[str, Any]] = []
    assignments: list[dict[str, str]] = []
    eligible: list[dict[str, str]] = []
    group = _guid("group", i)
    principals.append({"object_id": group, "type": "Group"})
    custom_role = _guid("role", i)
    mg_scope = "/providers/Microsoft.Management/managementGroups/mg-" + tid[:8]
    for n, name in enumerate(IDENTITIES):
        oid = _guid("sp", i, name)
        principals.append({
            "object_id": oid, "type": "ServicePrincipal", "app_id": client_id(name), "secret": secret(name),
            "enabled": True, "member_of": [group] if n == 1 else [],
            **({"pal": {"partner_id": PARTNER_ID}} if n != 2 or i % 3 else {}),
        })
        if n == 0:
            assignments.append({"principal": oid, "role": "Support Request Contributor", "scope": mg_scope})
            assignments.append({"principal": oid, "role": "Owner", "scope": f"/subscriptions/{subs[0]}"})
        elif n == 2:
            assignments.append({"principal": oid, "role": "Reader", "scope": mg_scope})
            assignments.append({"principal": oid, "role": custom_role,
                                "scope": f"/subscriptions/{subs[-1]}/resourceGroups/rg-ops"})
            eligible.append({"principal": oid, "role": "Contributor", "scope": f"/subscriptions/{subs[1]}"})
    assignments.append({"principal": group, "role": "Contributor", "scope": mg_scope})
    return {
        "tenant_id": tid,
        "name": f"Customer {i:04d}",
        "management_groups": [{"id": "mg-" + tid[:8], "parent": None}],
        "subscriptions": [{"subscription_id": s, "name": f"sub-{k}", "management_group": "mg-" + tid[:8],
                           "resource_groups": ["rg-ops", "rg-web"]} for k, s in enumerate(subs)],
        "principals": principals,
        "custom_roles": [{"role_id": custom_role, "name": "Ops Operator",
                          "actions": ["Microsoft.Compute/*/read",
                                      "Microsoft.Compute/virtualMachines/restart/action"],
                          "not_actions": [], "data_actions": []}],
        "role_assignments": assignments,
        "eligible_assignments": eligible,
    }


def generate(
    tenants: int, subscriptions: int, out: Path, *, yaml_style: bool = False
) -> tuple[Path, Path, dict[str, str]]:
    """The estate and registry files of `tenants` customers. The estate is written as JSON (which is
    YAML) unless `yaml_style`: at 10,000 tenants JSON is written and read in about a second, YAML
    block style takes tens of seconds each way."""
    out.mkdir(parents=True, exist_ok=True)
    estate = {"partners": [{"partner_id": PARTNER_ID, "name": "Contoso Managed Services"}],
              "tenants": [tenant(i, subscriptions) for i in range(tenants)]}
    registry = {
        "partner": {"partner_id": PARTNER_ID, "name": "Contoso Managed Services"},
        "cloud": "AzureCloud",
        "identities": {name: {"kind": "service_principal", "client_id": client_id(name),
                              "auth": {"method": "client_secret", "secret_env": f"BENCH_{n}_SECRET"}}
                       for n, name in enumerate(IDENTITIES)},
        "tenants": [{"tenant_id": t["tenant_id"], "name": t["name"], "identities": list(IDENTITIES),
                     "customer_approval": {"by": "it@customer.example", "on": "2026-01-01"}}
                    for t in estate["tenants"]],
    }
    env = {f"BENCH_{n}_SECRET": secret(name) for n, name in enumerate(IDENTITIES)}
    estate_path, registry_path = out / "estate.yaml", out / "registry.yaml"
    if yaml_style:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        estate_path.write_text(yaml.dump(estate, Dumper=dumper, sort_keys=False))
    else:
        estate_path.write_text(json.dumps(estate, indent=1))
    registry_path.write_text(json.dumps(registry, indent=1))  # JSON is YAML; faster to load at 1,000 tenants
    return estate_path, registry_path, env


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--subscriptions", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("bench/out/estate"))
    ap.add_argument("--yaml", action="store_true", help="write the estate in YAML block style, not JSON")
    args = ap.parse_args()
    e, r, _ = generate(args.tenants, args.subscriptions, args.out, yaml_style=args.yaml)
    print(e, r)
