"""Applying a plan: change each identity's own link, signed in as that identity (the imperative shell).

Nobody but the identity can read or write its link, so every action signs in as it, re-reads the
link right before writing, and writes only when the link is still what the plan saw ("before").
A link already as the plan wants it is left alone (so applying twice changes nothing). Each action
fails or succeeds on its own: a 403, an unknown partner id (400), a conflict (409) or throttling
is that action's result, and the rest go on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pal_audit.engine.budget import BudgetedRetryPolicy, Deadline
from pal_audit.engine.collect import ArmSession, ClientOptions, read_link, sign_in
from pal_audit.engine.credentials import make_credential
from pal_audit.engine.failures import classify
from pal_audit.engine.http_pool import open_pool
from pal_audit.engine.plan import LinkAction
from pal_audit.registry import Registry
from pal_audit.registry.clouds import Cloud

if TYPE_CHECKING:
    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

Outcome = Literal["applied", "unchanged", "skipped", "failed"]
APPLY_CONCURRENCY = 8     # links are written one per identity; a few at once keeps ARM's write limit far


@dataclass(frozen=True)
class ActionResult:
    action: LinkAction
    outcome: Outcome
    detail: str              # why (skipped, failed) or what was found (unchanged); safe for logs
    found: str | None        # the partner id read right before writing (None: no link or unread)
    at: datetime

    @property
    def changed(self) -> bool:
        return self.outcome == "applied"


def _partner_text(partner_id: str | None) -> str:
    return partner_id if partner_id is not None else "no link"


async def write_link(session: ArmSession, action: LinkAction) -> None:
    """One create, update or delete of the signed-in identity's own link (the SDK's `partner` group)."""
    ops = session.partners().partner
    if action.kind == "create" and action.after is not None:
        await ops.create(action.after)
    elif action.kind == "update" and action.after is not None:
        await ops.update(action.after)
    elif action.kind == "delete" and action.before is not None:
        await ops.delete(action.before)
    else:  # plan_from_json refuses these; a hand-built action must not write something else
        raise ValueError(f"{action.kind} with before={action.before!r} after={action.after!r}")


async def apply_action(session: ArmSession, action: LinkAction) -> ActionResult:
    """Sign in, re-read, write when the link is still as planned. Never raises for Azure failures."""
    step = "sign-in"
    found: str | None = None
    try:
        oid = await sign_in(session, action.tenant_id)
        if oid != action.principal_id.lower():
            return _result(action, "skipped", f"changed since plan: the identity's object id is now {oid}, "
                           f"not {action.principal_id}", None)
        step = "reading its partner link"
        link = await read_link(session)
        found = link.partner_id if link is not None else None
        if found == action.after:
            return _result(action, "unchanged", f"already {_partner_text(found)}", found)
        if found != action.before:
            return _result(action, "skipped", f"changed since plan: linked to {_partner_text(found)}, "
                           f"planned from {_partner_text(action.before)}", found)
        step = f"{action.kind} of its partner link"
        await write_link(session, action)
    except Exception as exc:     # each action fails alone (ARM errors, sign-in, a bug of ours)
        error = classify(exc, step=step)
        return _result(action, "failed", f"{error.reason}: {error.message}", found)
    return _result(action, "applied", f"{_partner_text(action.before)} -> {_partner_text(action.after)}",
                   found)


def _result(action: LinkAction, outcome: Outcome, detail: str, found: str | None) -> ActionResult:
    return ActionResult(action, outcome, detail, found, datetime.now(UTC))


class LinkWriter:
    """Signs in as registry identities and applies actions. `async with LinkWriter(...) as w:`."""

    def __init__(self, registry: Registry, *, cloud: Cloud | None = None,
                 env: Mapping[str, str] | None = None, budget_seconds: float = 60,
                 concurrency: int = APPLY_CONCURRENCY) -> None:
        self.registry = registry
        self.cloud = cloud or registry.cloud_config()
        self._env = os.environ if env is None else env
        self._budget = budget_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._transport: AioHttpTransport | None = None

    async def __aenter__(self) -> LinkWriter:
        self._session, self._transport = open_pool(self.cloud, env=self._env)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def apply(self, actions: Sequence[LinkAction],
                    progress: Callable[[ActionResult], None] | None = None) -> list[ActionResult]:
        """Every action's result, in the order of `actions`."""
        async def one(action: LinkAction) -> ActionResult:
            async with self._slots:
                result = await self._apply_one(action)
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(a) for a in actions)))

    async def _apply_one(self, action: LinkAction) -> ActionResult:
        identity = self.registry.identities.get(action.identity)
        if identity is None:
            return _result(action, "failed", f"the registry has no identity {action.identity!r}", None)
        deadline = Deadline(self._budget)
        try:
            credential = make_credential(tenant_id=action.tenant_id, identity_name=action.identity,
                                         identity=identity, cloud=self.cloud, env=self._env,
                                         transport=self._transport)
        except Exception as exc:
            error = classify(exc, step="sign-in")
            return _result(action, "failed", f"{error.reason}: {error.message}", None)
        options: ClientOptions = {"retry_policy": BudgetedRetryPolicy(deadline)}
        if self._transport is not None:
            options["transport"] = self._transport
        session = ArmSession(credential, self.cloud, options)
        try:
            async with asyncio.timeout(self._budget):
                return await apply_action(session, action)
        except TimeoutError:
            return _result(action, "failed", "timeout: the action's time budget ran out", None)
        finally:
            await session.close()
