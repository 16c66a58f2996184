"""`pal-audit me`: an engineer's own links in every tenant they can reach, and `--link` where missing.

Exit codes: 0 every tenant read (and every link asked for made), 3 some tenant could not be read
(MFA, conditional access, an error) or a link could not be made, 2 usage or no sign-in at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pal_audit.cli.exits import fail
from pal_audit.cli.fix import stdin_is_terminal
from pal_audit.engine.plan import LinkAction
from pal_audit.model import PartnerPolicy
from pal_audit.registry.clouds import KNOWN_CLOUDS, Cloud, CloudError, load_cloud_file
from pal_audit.textsafe import one_line

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from rich.console import Console

    from pal_audit.engine.links import ActionResult
    from pal_audit.engine.me import Advice, EngineerSession, Survey, TenantView

EXIT_OK, EXIT_USAGE, EXIT_INCOMPLETE = 0, 2, 3


class AuthMethod(StrEnum):
    azure_cli = "azure_cli"
    browser = "browser"
    device_code = "device_code"


class MeFormat(StrEnum):
    table = "table"
    json = "json"


def me_command(
    partner_id: Annotated[str | None, typer.Option(
        "--partner-id", metavar="ID", help="The partner id to credit (default: the registry's).")] = None,
    registry: Annotated[str | None, typer.Option(
        "--registry", "-r", envvar="PAL_AUDIT_REGISTRY", metavar="FILE",
        help="Registry file to take the partner id (and previous ids, cloud) from.")] = None,
    auth: Annotated[AuthMethod, typer.Option(
        "--auth", help="How you sign in: the Azure CLI's login, a browser, or a device code.")]
    = AuthMethod.azure_cli,
    cloud: Annotated[str | None, typer.Option(
        "--cloud", metavar="FILE", help="Cloud file; default the registry's cloud, else AzureCloud.")] = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", metavar="ID", help="browser / device_code: your home tenant to sign in to first "
        "(default: organizations, i.e. any work account).")] = None,
    link: Annotated[bool, typer.Option(
        "--link", help="Link to the partner id where you hold a PAL-eligible role and are not linked.")]
    = False,
    overwrite_foreign: Annotated[bool, typer.Option(
        "--overwrite-foreign", help="With --link: also replace links to other partners' ids.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Link without asking.")] = False,
    output_format: Annotated[MeFormat, typer.Option("--format", "-f", help="Output format.")]
    = MeFormat.table,
) -> None:
    """Your own Partner Admin Link in every tenant you can reach: linked or not, credit, what to do."""
    if link and not yes and not stdin_is_terminal():
        fail("--link: not a terminal, so nobody can confirm; add --yes to link without asking")
    if overwrite_foreign and not link:
        fail("--overwrite-foreign: only with --link")
    policy, cloud_config = _policy_and_cloud(partner_id, registry, cloud)
    if tenant is not None and auth == AuthMethod.azure_cli:
        fail("--tenant: only with --auth browser or device_code (the Azure CLI's login names "
                    "its own tenant: az login --tenant ID)")
    user = _credential(auth, cloud_config, tenant or "organizations")
    from rich.console import Console

    console = Console(stderr=output_format == MeFormat.json)

    def confirm(count: int) -> bool:
        return yes or typer.confirm(f"Link {count} tenant(s) to partner id {policy.partner_id}?",
                                    default=False, err=True)

    survey, results = asyncio.run(_run(user, cloud_config, policy, link=link,
                                       overwrite_foreign=overwrite_foreign, confirm=confirm,
                                       before_linking=lambda s: _show(s, policy, console, output_format)))
    if output_format == MeFormat.json:
        typer.echo(to_json(survey, policy, results))
    elif not link:
        _show(survey, policy, console, output_format)
    if results and output_format == MeFormat.table:
        for r in results:
            console.print(one_line(f"{r.action.tenant_name}: {r.outcome}: {r.detail}"), highlight=False)
    unreadable = any(v.status != "ok" for v in survey.tenants)
    failed = any(r.outcome in ("failed", "skipped") for r in results or [])
    raise typer.Exit(EXIT_INCOMPLETE if unreadable or failed else EXIT_OK)


def _show(survey: Survey, policy: PartnerPolicy, console: Console, fmt: MeFormat) -> None:
    if fmt == MeFormat.table:
        render(survey, policy, console)


# ---------------------------------------------------------------- inputs


def _policy_and_cloud(partner_id: str | None, registry: str | None,
                      cloud: str | None) -> tuple[PartnerPolicy, Cloud]:
    previous: frozenset[str] = frozenset()
    cloud_config: Cloud = KNOWN_CLOUDS["AzureCloud"]
    if registry is not None:
        from pal_audit.registry import RegistryError, load_registry

        try:
            reg = load_registry(registry, check_secrets=False)    # `me` signs in as you, not as its apps
        except (RegistryError, CloudError) as exc:
            fail(exc.errors)
        partner_id = partner_id or reg.partner.partner_id
        previous = frozenset(reg.partner.previous_partner_ids)
        cloud_config = reg.cloud_config()
    if partner_id is None:
        fail("--partner-id: give the partner id to credit, or --registry FILE to take it from")
    if not partner_id.isdigit():
        fail(f"--partner-id {partner_id}: a partner id is digits only (e.g. 1234567)")
    if cloud is not None:
        try:
            cloud_config = load_cloud_file(cloud)
        except CloudError as exc:
            fail(exc.errors)
    return PartnerPolicy(partner_id, previous), cloud_config


def _credential(auth: AuthMethod, cloud: Cloud, home_tenant: str) -> TokenCredential:
    """The engineer's sync credential; every tenant gets its token with `tenant_id=`."""
    from azure import identity

    anywhere = ["*"]      # the user's guest tenants, whichever they are
    if auth == AuthMethod.azure_cli:
        return identity.AzureCliCredential(additionally_allowed_tenants=anywhere)
    common: dict[str, object] = {"authority": cloud.authority, "additionally_allowed_tenants": anywhere,
                                 "tenant_id": home_tenant}
    if cloud.name not in KNOWN_CLOUDS:
        common["disable_instance_discovery"] = True
    if cloud.ca_bundle is not None:
        common["connection_verify"] = str(cloud.ca_bundle)
    if auth == AuthMethod.browser:
        return identity.InteractiveBrowserCredential(**common)

    def tell(uri: str, code: str, expires: object) -> None:
        typer.echo(f"To sign in, open {uri} and enter the code {code}", err=True)

    return identity.DeviceCodeCredential(prompt_callback=tell, **common)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the run


async def _run(user: TokenCredential, cloud: Cloud, policy: PartnerPolicy, *, link: bool,
               overwrite_foreign: bool, confirm: Callable[[int], bool],
               before_linking: Callable[[Survey], None]) -> tuple[Survey, list[ActionResult] | None]:
    from pal_audit.engine.me import EngineerSession

    async with EngineerSession(user, cloud) as engineer:
        try:
            survey = await engineer.survey(policy)
        except Exception as exc:     # no tenant list at all: not signed in, or the wrong cloud
            fail(not_signed_in(exc))
        if not link:
            return survey, None
        before_linking(survey)
        return survey, await _link(engineer, survey, policy, overwrite_foreign, confirm)


def not_signed_in(exc: BaseException) -> str:
    from azure.identity import CredentialUnavailableError

    from pal_audit.engine.failures import classify

    if isinstance(exc, CredentialUnavailableError):
        return f"not signed in: {one_line(str(exc))[:300]} (run az login, or use --auth device_code)"
    error = classify(exc, step="listing your tenants")
    return f"could not list your tenants: {error.reason}: {error.message}"


def link_actions(survey: Survey, policy: PartnerPolicy, overwrite_foreign: bool) -> list[LinkAction]:
    """The links `--link` makes: create where missing, move a previous id, a foreign one if allowed."""
    from pal_audit.engine.me import advise

    actions: list[LinkAction] = []
    for view in survey.tenants:
        advice = advise(view, policy, survey.home_tenant_id)
        if not advice.can_link or view.snapshot is None or view.snapshot.principal_id is None:
            continue
        if advice.foreign and not overwrite_foreign:
            continue
        before = view.link
        if before == policy.partner_id:
            continue
        asking = next((f for f in view.findings if f.check_id.startswith("link_")), None)
        actions.append(LinkAction(
            tenant_id=view.tenant_id, tenant_name=view.name, identity="me",
            principal_id=view.snapshot.principal_id, kind="create" if before is None else "update",
            before=before, after=policy.partner_id,
            check_id=asking.check_id if asking else "link_missing",
            finding_id=asking.finding_id if asking else "-"))
    return actions


async def _link(engineer: EngineerSession, survey: Survey, policy: PartnerPolicy, overwrite_foreign: bool,
                confirm: Callable[[int], bool]) -> list[ActionResult]:
    from pal_audit.engine.links import apply_action

    actions = link_actions(survey, policy, overwrite_foreign)
    if not actions:
        typer.echo("Nothing to link.", err=True)
        return []
    if not confirm(len(actions)):
        typer.echo("nothing changed", err=True)
        return []
    results = []
    for action in actions:
        session = engineer.session(action.tenant_id)
        try:
            results.append(await apply_action(session, action))
        finally:
            await session.close()
    return results


# ---------------------------------------------------------------- output


def _roles_text(view: TenantView) -> str:
    """Role names only (the JSON output has the scopes): "Contributor, Reader (PIM-eligible)"."""
    def names(roles: tuple[str, ...]) -> list[str]:
        return sorted({r.split(" at ", 1)[0] for r in roles})

    parts = [*names(view.credit_active), *(f"{r} (PIM-eligible)" for r in names(view.credit_pim))]
    return ", ".join(parts) if parts else "-"


def render(survey: Survey, policy: PartnerPolicy, console: Console) -> None:
    from rich.table import Table

    from pal_audit.engine.me import advise

    title = f"{survey.user or 'you'}: {len(survey.tenants)} tenant(s), partner id {policy.partner_id}"
    table = Table(title=title, title_justify="left")
    for col in ("tenant", "linked", "PAL-eligible roles", "earns credit", "what to do"):
        table.add_column(col, overflow="fold")
    for view in survey.tenants:
        advice = advise(view, policy, survey.home_tenant_id)
        name = view.name + (" (home)" if view.home else " (Lighthouse)" if view.managed_from else "")
        linked = view.link or ("-" if view.status == "ok" else "? (not read)")
        table.add_row(name, linked, _roles_text(view), advice.earns, advice.todo)
    console.print(table)


def view_dict(view: TenantView, advice: Advice) -> dict[str, object]:
    return {"tenant_id": view.tenant_id, "name": view.name, "home": view.home, "status": view.status,
            "principal_id": view.snapshot.principal_id if view.snapshot else None, "link": view.link,
            "credit_roles_active": list(view.credit_active), "credit_roles_pim": list(view.credit_pim),
            "earns_credit": advice.earns, "what_to_do": advice.todo, "problem": view.problem or None,
            "resolve": view.resolve or None, "findings": [f.check_id for f in view.findings],
            "managed_from": view.managed_from}


def to_json(survey: Survey, policy: PartnerPolicy, results: list[ActionResult] | None) -> str:
    from pal_audit.engine.me import advise

    out: dict[str, object] = {
        "user": survey.user, "home_tenant_id": survey.home_tenant_id, "partner_id": policy.partner_id,
        "tenants": [view_dict(v, advise(v, policy, survey.home_tenant_id)) for v in survey.tenants]}
    if results is not None:
        out["linked"] = [{"tenant_id": r.action.tenant_id, "kind": r.action.kind, "before": r.action.before,
                          "after": r.action.after, "result": r.outcome, "detail": r.detail} for r in results]
    return json.dumps(out, indent=2)

