"""Progress on standard error: a bar for runs over many files, a line for a long replay. Only
when asked or on a terminal, redrawn a few times a second, erased at the end so logs and pipes
never keep it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rumpolicy.analysis.replay import Progress

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


class ProgressLine:
    """A replay's source, share of its size done, records and rate."""

    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        """`enabled=None` shows progress only when `stream` is a terminal."""
        self._stream = stream
        self._enabled = _is_tty(stream) if enabled is None else enabled
        self._started = time.perf_counter()
        self._shown = 0.0
        self._width = 0

    def update(self, progress: Progress, size: int | None) -> None:
        if not self._enabled:
            return
        now = time.perf_counter()
        if now - self._shown < INTERVAL:
            return
        self._shown = now
        rate = progress.records / max(now - self._started, 1e-9)
        done = ""
        if size and progress.position is not None:
            done = f" {min(progress.position / size, 1.0):4.0%}"
        self._write(f"replay: {progress.source}{done}  {progress.records:,} records "
                    f"({rate:,.0f}/s)")

    def finish(self) -> None:
        if self._enabled and self._width:
            self._write("")
            self._stream.write("\r")
            self._stream.flush()

    def _write(self, text: str) -> None:
        padded = text.ljust(self._width)
        self._width = len(text)
        self._stream.write("\r" + padded)
        self._stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
