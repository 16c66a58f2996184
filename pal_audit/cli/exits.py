"""How a command stops on bad input: one escaped line per problem on stderr and exit 2, never a
traceback. The checks every command shares live here (an output path, the storage setting)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from pal_audit.textsafe import one_line

if TYPE_CHECKING:
    from pal_audit.settings import Settings

EXIT_USAGE = 2


def fail(messages: str | list[str]) -> NoReturn:
    """Print the messages to stderr and exit with the usage/registry error code."""
    # One problem per line, whatever a file name or registry value holds (a newline, ESC sequences).
    for line in [messages] if isinstance(messages, str) else messages:
        typer.echo(one_line(line), err=True)
    raise typer.Exit(EXIT_USAGE)


def check_writable(output: str, option: str = "--output") -> None:
    """Exit 2 naming the option when a file could not be written at `output` (checked before a long
    audit, not after it)."""
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"{option} {output}: is a folder; give a file name")
    if not folder.is_dir():
        fail(f"{option} {output}: folder {folder} does not exist")
    if not os.access(path if path.exists() else folder, os.W_OK):
        fail(f"{option} {output}: not writable")


def storage_settings_or_exit() -> Settings:
    """The settings of `--store tables`, or exit 2 naming the missing or bad setting."""
    from pal_audit.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    if not settings.storage_connection:
        fail("--store tables: setting AzureWebJobsStorage (a storage connection string) is not set")
    return settings
