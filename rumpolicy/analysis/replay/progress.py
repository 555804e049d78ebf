"""Progress of a long replay on standard error: only on a terminal, at most a few times a
second, and erased when the replay ends, so logs and pipes never see it."""

from __future__ import annotations

import time
from typing import TextIO

from rumpolicy.analysis.replay.replayer import Progress

INTERVAL = 0.25


class ProgressLine:
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
