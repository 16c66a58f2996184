"""FileSink: a channel that writes each alert to a folder (the demo, dry runs, debugging).

Per message: `<n>-<kind>.card.json` (the exact Teams webhook body), `<n>-<kind>.eml` (the MIME mail)
and `<n>-<kind>.txt` (the plain-text body), numbered in sending order.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path

from pal_audit.alerts.cards import teams_payload
from pal_audit.alerts.email_render import to_mime
from pal_audit.alerts.messages import Message


class FileSink:
    name = "file"

    def __init__(self, directory: str | Path, *, sender: str = "pal-audit@example.invalid",
                 recipients: Sequence[str] = ("alerts@example.invalid",)):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sender, self._recipients = sender, tuple(recipients)
        start = len(list(self.directory.glob("*.card.json")))
        self._seq = itertools.count(start + 1)
        self.written: list[Path] = []

    def send(self, message: Message) -> None:
        stem = f"{next(self._seq):04d}-{message.kind}-{re.sub(r'[^A-Za-z0-9]+', '-', message.key)[:60]}"
        card = self.directory / f"{stem}.card.json"
        card.write_text(json.dumps(teams_payload(message.card), indent=2), encoding="utf-8")
        eml = self.directory / f"{stem}.eml"
        eml.write_bytes(bytes(to_mime(message.mail, self._sender, self._recipients)))
        txt = self.directory / f"{stem}.txt"
        txt.write_text(f"Subject: {message.mail.subject}\n\n{message.mail.text}", encoding="utf-8")
        self.written += [card, eml, txt]
