"""Per-unit time budget: retries honour Retry-After, but never past the unit's deadline.

azure-core sleeps whatever Retry-After says, with no cap; one throttled tenant could then stall
a whole run. Each (tenant, identity) unit gets a deadline instead, and a Retry-After that would
cross it ends the unit at once as `throttled`.
"""

from __future__ import annotations

import time

from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.core.pipeline.transport import AsyncHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest


class ThrottledBeyondBudget(AzureError):
    """ARM asked us to wait longer than the unit has left."""

    def __init__(self, retry_after: float, remaining: float) -> None:
        super().__init__(
            f"throttled: Retry-After {retry_after:.0f}s exceeds the {max(remaining, 0):.0f}s left "
            "in this unit's time budget")
        self.retry_after = retry_after


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self.throttled = False      # waiting out a Retry-After right now: a timeout then means throttled

    @property
    def remaining(self) -> float:
        return self._end - time.monotonic()


class BudgetedRetryPolicy(AsyncRetryPolicy[HttpRequest, AsyncHttpResponse]):
    """AsyncRetryPolicy whose Retry-After waits are bounded by a unit deadline."""

    def __init__(self, deadline: Deadline, *, retry_backoff_factor: float = 0.4) -> None:
        super().__init__(retry_backoff_factor=retry_backoff_factor)
        self._deadline = deadline

    async def _sleep_for_retry(self, response: PipelineResponse[HttpRequest, AsyncHttpResponse],
                               transport: AsyncHttpTransport[HttpRequest, AsyncHttpResponse]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after and retry_after > self._deadline.remaining:
            raise ThrottledBeyondBudget(retry_after, self._deadline.remaining)
        self._deadline.throttled = bool(retry_after)
        try:
            return await super()._sleep_for_retry(response, transport)
        finally:
            self._deadline.throttled = False
