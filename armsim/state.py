"""What the Entra and ARM handlers read of the running simulator.

The server's `Simulator` satisfies this Protocol; the handlers depend on it instead of on the
server module, so `server` imports `entra` and `arm` and nothing imports back.
"""

from __future__ import annotations

from typing import Protocol

from armsim.directory import Directory
from armsim.tokens import TokenService


class SimulatorState(Protocol):
    @property
    def base_url(self) -> str:
        """The public URL, e.g. https://127.0.0.1:8443 (token issuers and nextLinks use it)."""
        ...

    @property
    def page_size(self) -> int:
        """Items per page of an ARM list."""
        ...

    @property
    def directory(self) -> Directory:
        """The estate's tenants, principals, access and Partner Admin Links (links are mutable)."""
        ...

    @property
    def tokens(self) -> TokenService:
        """Issues and verifies armsim's access tokens."""
        ...

    @property
    def arm_audiences(self) -> frozenset[str]:
        """The `aud` values ARM accepts."""
        ...
