"""The optional PutRumEvents quota: a token bucket of `rate` requests per second.

RUM's default quota is 50 PutRumEvents per second per account and Region; the gate serves one of
each, so one bucket. It holds one second's worth of tokens, so a burst of `rate` calls after a
quiet second passes and the next waits. Off unless configured.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a quota must allow more than 0 requests per second")
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0.0 if the call may proceed, else the seconds until a token is available."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def retry_after_header(wait: float) -> int:
    """Retry-After carries whole seconds; never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait))
