"""The entry points: run the three passes over a file or an already parsed document."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from pal_audit.registry.clouds import KNOWN_CLOUDS, CloudError, resolve_cloud
from pal_audit.registry.errors import Loc, RegistryError, format_problem
from pal_audit.registry.references import cross_problems
from pal_audit.registry.schema import Registry
from pal_audit.registry.shape_errors import shape_problem
from pal_audit.registry.yaml_source import LineFinder, read_document

_OPTIONAL_SECTIONS = ("cloud", "policy", "suppressions")
MAX_PROBLEMS = 50       # problems listed per registry


def _build(data: object, *, source: str, base_dir: Path, lines: LineFinder | None,
           env: Mapping[str, str] | None, check_secrets: bool) -> Registry:
    def fail(problems: list[tuple[Loc, str]]) -> RegistryError:
        node = lines.tree() if lines is not None else None
        # A broken 5,000-tenant registry must not print 5,000 lines: the first ones show the pattern.
        messages = [format_problem(source, loc, msg, node) for loc, msg in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            messages.append(f"{source}: … and {len(problems) - MAX_PROBLEMS:,} more problems "
                         f"(only the first {MAX_PROBLEMS} are listed)")
        return RegistryError(messages)

    if data is None:
        raise fail([((), "the file is empty; expected a mapping with partner, identities and tenants")])
    if not isinstance(data, Mapping):
        raise fail([((), f"the top level must be a mapping with partner, identities and tenants, "
                         f"not a {type(data).__name__}")])

    # An optional section left empty (`suppressions:` with every entry commented out) reads as null.
    doc = {k: v for k, v in data.items() if not (v is None and k in _OPTIONAL_SECTIONS)}
    problems: list[tuple[Loc, str]] = []
    cloud = KNOWN_CLOUDS["AzureCloud"]
    try:
        cloud = resolve_cloud(doc.get("cloud", "AzureCloud"), base_dir=base_dir, where="cloud")
    except CloudError as exc:
        problems += [(tuple(where.split(".")), msg) for where, msg in exc.problems]
    try:
        reg = Registry.model_validate({**doc, "cloud": cloud})
    except ValidationError as exc:
        problems += [shape_problem(e) for e in exc.errors()]
    if problems:
        raise fail(problems)

    # Pass 3 needs a well-shaped document, so it only runs when pass 2 found nothing.
    problems = cross_problems(reg, os.environ if env is None else env, check_secrets)
    if problems:
        raise fail(problems)
    reg._source, reg._base_dir, reg._lines = source, base_dir, lines
    return reg


def parse_registry(data: object, *, source: str = "<registry>", env: Mapping[str, str] | None = None,
                   check_secrets: bool = True, base_dir: Path | None = None) -> Registry:
    """Validate an already parsed registry (a JSON body, a test's dict). Raises RegistryError."""
    return _build(data, source=source, base_dir=base_dir or Path.cwd(), lines=None,
                  env=env, check_secrets=check_secrets)


def load_registry(path: str | Path, *, env: Mapping[str, str] | None = None,
                  check_secrets: bool = True) -> Registry:
    """Read and validate a registry file (YAML, or JSON by its .json suffix). Raises RegistryError.

    `env` defaults to os.environ; with check_secrets the secret variables of every identity in use
    must be set (their values are never read into messages).
    """
    path = Path(path)
    data, lines = read_document(path, str(path))
    return _build(data, source=str(path), base_dir=path.resolve().parent, lines=lines,
                  env=env, check_secrets=check_secrets)
