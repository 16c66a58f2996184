"""Evidence or error: checks decide only on what was read; unknown inputs leave them undecided."""

from __future__ import annotations

import pytest
from builders import (
    MG,
    OID,
    OPERATOR,
    OWNER,
    POLICY,
    READER,
    SRC,
    TENANT,
    UAA,
    assign,
    failed,
    ident,
    link,
    tenant,
)

from pal_audit.checks import CHECKS, CHECKS_BY_ID, decide
from pal_audit.checks.base import CheckMeta, Evidence, IdentityCheck, UndeclaredInput
from pal_audit.model import INPUTS, IdentitySnapshot, Severity, Unknown

UNKNOWN_ROLE = Unknown("role_definitions", "not_found", "reading role definitions: HTTP 404 NotFound",
                       OPERATOR.role_id)


def checks(t, *ids: str) -> tuple[list[str], set[str]]:
    d = decide(t, POLICY)
    return sorted(f.check_id for f in d.findings), {c for c, _ in d.undecided}


def test_every_check_declares_its_inputs():
    for check in CHECKS:
        assert isinstance(check.meta.needs, frozenset), check.meta.check_id
        assert check.meta.needs <= set(INPUTS), check.meta.check_id


def test_reading_an_undeclared_input_is_a_programming_error():
    meta = CheckMeta("link_missing", "t", Severity.LOW, scope="identity", description="d", remediation="r",
                     needs=frozenset({"link"}))
    sneaky = IdentityCheck(meta, lambda who, t, p: list(who.active))
    with pytest.raises(UndeclaredInput, match="'active'"):
        sneaky.decide(tenant(ident(active=[assign(SRC)])), POLICY)


def test_failed_unit_is_no_evidence():
    with pytest.raises(ValueError):
        Evidence(failed(), frozenset({"link"}))


def test_unknown_pim_decides_nothing_that_depends_on_it():
    # Linked, Reader active, PIM unreadable: link_without_eligible_role vs eligible_role_only_via_pim
    # cannot be told apart, and link_without_access would need "no PIM role".
    t = tenant(ident(link=link(), active=[assign(READER)], eligible=None))
    found, undecided = checks(t)
    assert found == ["tenant_without_credited_link"]   # rests on active roles only: decided
    assert undecided == {"link_without_eligible_role", "eligible_role_only_via_pim"}
    t = tenant(ident(link=link(), eligible=None))
    found, undecided = checks(t)
    assert found == ["tenant_without_credited_link"] and "link_without_access" in undecided


def test_unknown_custom_role_at_broad_scope_leaves_privilege_undecided():
    who = ident(link=link(), active=[assign(SRC), assign(OPERATOR, MG)], roles={SRC.role_id: SRC},
                eligible=())
    who = IdentitySnapshot(**{**who.__dict__, "unknowns": (UNKNOWN_ROLE,)})
    d = decide(tenant(who), POLICY)
    assert ("excessive_privilege", OID) in d.undecided
    # Everything that does not rest on that role is decided: SRC is active and eligible.
    assert [f.check_id for f in d.findings] == ["audit_error"]
    assert d.findings[0].detail.startswith("not_found: reading role definitions")
    assert ("tenant_without_credited_link", "-") not in d.undecided


def test_table_roles_are_classified_without_their_definition():
    who = ident(link=link(), active=[assign(OWNER), assign(UAA, MG)], roles={})
    d = decide(tenant(who), POLICY)
    assert d.undecided == frozenset()
    assert sorted(f.check_id for f in d.findings) == ["excessive_privilege", "excessive_privilege"]


def test_unknown_linked_roles_leave_the_tenant_level_finding_undecided():
    who = ident(link=link(), active=[assign(OPERATOR)], roles={})
    d = decide(tenant(who), POLICY)
    assert ("tenant_without_credited_link", "-") in d.undecided
    assert "tenant_without_credited_link" not in [f.check_id for f in d.findings]


def test_one_credited_identity_decides_the_tenant_despite_unknowns():
    t = tenant(ident(link=link(), active=[assign(SRC)]),
               ident("other-app", oid="0" * 8, link=link(), active=[assign(OPERATOR)], roles={}))
    d = decide(t, POLICY)
    assert ("tenant_without_credited_link", "-") not in d.undecided


def test_nobody_linked_needs_every_identity():
    t = tenant(ident(active=[assign(READER)]), failed("monitor-app"), approval=False)
    assert ("customer_approval_missing", "-") in decide(t, POLICY).undecided
    t = tenant(ident(link=link(), active=[assign(SRC)]), failed("monitor-app"), approval=False)
    assert "customer_approval_missing" in [f.check_id for f in decide(t, POLICY).findings]


def test_pim_unknown_alone_is_a_partial_detail_not_an_audit_error():
    who = IdentitySnapshot(TENANT, "ops-app", OID, link=link(), active=(assign(SRC),),
                           roles={SRC.role_id: SRC}, eligible=None,
                           unknowns=(Unknown("pim", "forbidden", "HTTP 403 AuthorizationFailed"),))
    assert who.partial and "pim unknown (forbidden" in who.partial_detail()
    assert CHECKS_BY_ID["audit_error"](tenant(who), POLICY) == []
