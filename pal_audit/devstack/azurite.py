"""Start, stop and restart a private Azurite (Table + Queue storage) on free loopback ports.

Used by the tests and by `pal-audit demo`. Data lives in memory unless a `location` is given;
with a location, `stop()` then `start()` keeps the tables and queues (the storage-fault tests rely on that).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ACCOUNT = "devstoreaccount1"
# The well-known development-storage key (public, identical in every Azurite).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_REPO_ROOT = Path(__file__).resolve().parents[2]


class AzuriteError(RuntimeError):
    """Azurite could not be found or did not come up."""


def find_azurite() -> str:
    """The azurite launcher: $PAL_AUDIT_AZURITE, the repo's node_modules, or PATH."""
    explicit = os.environ.get("PAL_AUDIT_AZURITE")
    candidates = [explicit] if explicit else []
    candidates += [str(_REPO_ROOT / "node_modules" / ".bin" / "azurite"), shutil.which("azurite") or ""]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    raise AzuriteError("azurite not found: run `npm ci` in the repository (package.json pins it) "
                       "or set PAL_AUDIT_AZURITE to its path")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Azurite:
    """One Azurite process; ports stay fixed across stop/start so clients keep working."""

    def __init__(self, *, location: Path | None = None, binary: str | None = None) -> None:
        self.binary = binary or find_azurite()
        self.location = location
        self.table_port, self.queue_port, self.blob_port = _free_port(), _free_port(), _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
                f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            return
        args = [self.binary, "--silent", "--disableTelemetry",
                # queues: azure-storage-queue sends an api-version newer than Azurite 3.35 knows
                "--skipApiVersionCheck",
                "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
                "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port)]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not (_port_open(self.table_port) and _port_open(self.queue_port)):
            if self._proc.poll() is not None:
                raise AzuriteError(f"azurite exited with code {self._proc.returncode} while starting "
                                   f"(ports {self.table_port}/{self.queue_port} taken?)")
            if time.monotonic() > deadline:
                self.stop()
                raise AzuriteError(f"azurite did not listen within {timeout:.0f}s")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def running_azurite(*, location: Path | None = None, binary: str | None = None) -> Iterator[Azurite]:
    """Yield a started Azurite; always stopped on exit."""
    azurite = Azurite(location=location, binary=binary)
    azurite.start()
    try:
        yield azurite
    finally:
        azurite.stop()
