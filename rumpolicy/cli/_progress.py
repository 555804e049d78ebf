"""A progress bar on standard error for runs over many files: only when asked or on a terminal
for a long run, redrawn a few times a second, erased at the end so logs never keep it."""

from __future__ import annotations

import time
from typing import TextIO

INTERVAL = 0.2
LONG_RUN = 200
"""Files from which a run counts as long enough for a bar in `auto` mode."""
_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, total: int, label: str, *,
                 enabled: bool | None = None) -> None:
        """`enabled=None`: only on a terminal, and only for `LONG_RUN` files or more."""
        self._stream = stream
        self._total = max(total, 1)
        self._label = label
        self._enabled = (_is_tty(stream) and total >= LONG_RUN) if enabled is None else enabled
        self._done = 0
        self._shown = 0.0
        self._drawn = False

    def advance(self, count: int = 1) -> None:
        self._done += count
        if not self._enabled:
            return
        now = time.perf_counter()
        if now - self._shown < INTERVAL and self._done < self._total:
            return
        self._shown = now
        filled = _WIDTH * self._done // self._total
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {self._done:,}/{self._total:,} files")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
