"""The failures collection raises that are not SDK errors; `failures` turns each into a reason code.

They live apart from `collect` so that `failures` (which classifies them) and `collect` (which
raises them and classifies the SDK errors of its optional reads) can both import them without
importing each other.
"""

from __future__ import annotations


class WrongTenant(Exception):
    """The token was issued for another tenant than the one being audited."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"the token is for tenant {got or '(none)'}, not {expected}")


class AssignmentsUnreadable(Exception):
    """The identity sees a subscription but may not read its own role assignments there."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            f"may not read its role assignments in subscription {subscription_id} (no "
            "Microsoft.Authorization/roleAssignments/read); name a reader identity with "
            "`assignments_via` in the registry")
