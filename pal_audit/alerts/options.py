"""`AlertOptions`: timings and limits of delivery (leases, retries, timeouts), with their defaults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AlertOptions:
    lease: timedelta = timedelta(minutes=5)          # a claimed unit is retried after this if its sender died
    max_delivery_attempts: int = 5                   # invocations that try a unit before it is failed
    retry_base: timedelta = timedelta(minutes=2)     # doubles per attempt
    orphan_after: timedelta = timedelta(hours=12)    # a run never completed: send its digest anyway
    webhook_timeout: float = 10.0
    webhook_attempts: int = 3                        # HTTP attempts within one invocation
    max_retry_after: float = 10.0                    # longest Retry-After honoured within an invocation
    backoff: float = 1.0
    smtp_timeout: float = 15.0
    acs_polling_interval: float = 2.0
    sleep: Callable[[float], None] = time.sleep
