"""The one retry policy: what is tried again, how often, and how long to wait in between.

Only a `TransientError` is worth another attempt (overload, 5xx, timeouts, lost connections, a busy store); anything
else would fail the same way again. The wait starts at `backoff` and doubles after each attempt, up to `max_backoff`.
An execution's searches, writes and state writes use it with `retries` attempts more and the execution's deadline
(no wait starts that would end past it); the service's start-up uses it without a limit, so that a cluster that is
down when the service starts is waited for, one log line per attempt, rather than ending the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from runner.backends import TransientError

T = TypeVar("T")


class Deadline:
    """A time budget (None: unbounded)."""

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def passed(self, after: float = 0.0) -> bool:
        """Whether the budget is spent, or would be `after` seconds from now."""
        return self.at is not None and time.monotonic() + after >= self.at


@dataclass(frozen=True)
class RetryPolicy:
    retries: int | None = 3  # attempts after the first; None: no limit
    backoff: float = 0.5  # seconds before the first retry, doubled for each next one
    max_backoff: float = 300.0

    def delays(self) -> Iterator[float]:
        """The waits before each retry, as many as there are retries."""
        delay, count = self.backoff, 0
        while self.retries is None or count < self.retries:
            yield min(delay, self.max_backoff)
            delay, count = delay * 2, count + 1

    def call(
        self,
        attempt: Callable[[], T],
        *,
        sleep: Callable[[float], object] | None = None,
        deadline: Deadline | None = None,
        retry_on: tuple[type[BaseException], ...] = (TransientError,),
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> T:
        """`attempt()`, tried again after each `retry_on` error while retries and time are left; the last error is
        raised. `on_retry(error, wait)` is told of each retry before its wait; `sleep` waits (`time.sleep`)."""
        delays = self.delays()
        while True:
            try:
                return attempt()
            except retry_on as error:
                wait = next(delays, None)
                if wait is None or (deadline is not None and deadline.passed(wait)):
                    raise
                if on_retry is not None:
                    on_retry(error, wait)
                (time.sleep if sleep is None else sleep)(wait)


__all__ = ["Deadline", "RetryPolicy"]
