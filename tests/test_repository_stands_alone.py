"""The repository stands on its own: no file points at documents that live outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The team's working notes that never ship with the repository; a reader who clones it cannot open them.
OUTSIDE = re.compile(r"design\.md|azure-wire\.md|pal-domain\.md|local-stack\.md|\.\./shared/|/work/shared")


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    hits = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".pem", ".crt"} or name == Path(__file__).relative_to(ROOT).as_posix():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        hits += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == []
