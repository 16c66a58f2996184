"""The `pal-audit` command line (design.md §11).

One function per command, registered on `app`. Exit codes are a contract: 0 ok, 1 findings at or
above --fail-on, 2 usage or registry error (message on stderr, never a traceback), 3 audit incomplete.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated, NoReturn

import typer

from pal_audit.clouds import CloudError
from pal_audit.registry import Registry, RegistryError, load_registry

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

app = typer.Typer(
    name="pal-audit",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,   # a traceback is never the user interface
)

RegistryOption = Annotated[str, typer.Option(
    "--registry", "-r", envvar="PAL_AUDIT_REGISTRY", metavar="FILE",
    help="Registry file (YAML, or JSON by its .json suffix).")]


@app.callback()
def _root() -> None:
    """Audit Partner Admin Link (PAL) attribution across the Azure tenants a partner manages."""


def fail(messages: str | list[str]) -> NoReturn:
    """Print the messages to stderr and exit with the usage/registry error code."""
    for line in [messages] if isinstance(messages, str) else messages:
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_USAGE)


def load_registry_or_exit(path: str, *, check_secrets: bool = True) -> Registry:
    """load_registry for commands: any problem becomes messages on stderr and exit code 2."""
    try:
        return load_registry(path, check_secrets=check_secrets)
    except (RegistryError, CloudError) as exc:
        fail(exc.errors)
    except Exception as exc:  # a bug of ours must still not greet the user with a traceback
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        fail(f"{path}: unexpected error while loading the registry: {type(exc).__name__}"
             + (f": {detail}" if detail else ""))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def registry_summary(reg: Registry, today: date, *, secrets_checked: bool) -> list[str]:
    """A few lines telling what the registry will audit."""
    p = reg.partner
    partner = p.partner_id + (f" ({p.name})" if p.name else "")
    if p.previous_partner_ids:
        partner += f"; previous ids: {', '.join(p.previous_partner_ids)}"
    excluded = sum(1 for t in reg.tenants if not t.expect_link)
    approved = sum(1 for t in reg.tenants if t.customer_approval is not None)
    methods = Counter(i.auth.method for i in reg.identities.values())
    expired = sum(1 for s in reg.suppressions if s.expires < today)
    return [
        f"{reg.source}: valid",
        f"  partner:      {partner}",
        f"  cloud:        {reg.cloud.name} ({reg.cloud.arm})",
        f"  tenants:      {len(reg.tenants)} ({excluded} with expect_link false, "
        f"{approved} with customer approval)",
        f"  identities:   {len(reg.identities)} "
        f"({', '.join(f'{m}: {n}' for m, n in sorted(methods.items()))})",
        f"  suppressions: {len(reg.suppressions)} ({expired} expired)",
        f"  secrets:      {'all environment variables set' if secrets_checked else 'not checked'}",
    ]


@app.command()
def validate(
    registry: RegistryOption,
    check_secrets: Annotated[bool, typer.Option(
        "--check-secrets/--no-check-secrets",
        help="Require the secret environment variables the registry names to be set.")] = True,
) -> None:
    """Check a registry file and summarise it; exit 2 with every problem listed when it is invalid."""
    reg = load_registry_or_exit(registry, check_secrets=check_secrets)
    today = date.today()
    for line in registry_summary(reg, today, secrets_checked=check_secrets):
        typer.echo(line)
    for warning in reg.warnings(today):
        typer.echo(f"warning: {warning}", err=True)


def main() -> None:
    """Console script entry point (`pal-audit`)."""
    app()


if __name__ == "__main__":
    main()
