"""Scripted failures from the estate's `faults.fail` rules: status, body, Retry-After, delay."""

from __future__ import annotations

from dataclasses import dataclass

from armsim.estate import FailRule

DEFAULT_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "NotFound",
    408: "RequestTimeout",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class Injected:
    rule: FailRule
    code: str
    message: str


class FaultPlan:
    """Matches requests against the rules in order; a rule with `times` fires that often, then stops."""

    def __init__(self, rules: tuple[FailRule, ...]) -> None:
        self.rules = rules
        self._fired = [0] * len(rules)

    def pick(
        self,
        *,
        path: str,
        operation: str,
        method: str,
        tenant_id: str | None,
        principal: tuple[str, ...] = (),
    ) -> Injected | None:
        low_path = path.lower()
        for i, rule in enumerate(self.rules):
            if rule.times is not None and self._fired[i] >= rule.times:
                continue
            needle = rule.match.lower()
            if needle not in low_path and needle != operation.lower():
                continue
            if rule.tenant_id and rule.tenant_id != tenant_id:
                continue
            if rule.principal and rule.principal not in principal:
                continue
            if rule.method and rule.method != method:
                continue
            self._fired[i] += 1
            code = rule.code or DEFAULT_CODES.get(rule.status, "InjectedFault")
            message = rule.message or f"armsim injected fault: {rule.status} {code} for '{rule.match}'"
            return Injected(rule, code, message)
        return None
