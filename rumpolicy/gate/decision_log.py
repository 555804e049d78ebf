"""The decision log: one JSON line per PutRumEvents decision, allow or deny (docs/decision-log.md).

`request` is `Request.to_dict()`, so a line replays with `Request.from_dict(line["request"])`.
Lines are written after the answer is settled (its `status` is part of the line) and flushed at
once, so a reader tailing the file sees each decision as it happens.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from rumpolicy.engine import Decision, Request

VERSION = 1


def iso_millis(epoch: float) -> str:
    """2026-11-26T10:00:00.123Z"""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + \
        f".{int((epoch - whole) * 1000):03d}Z"


def entry(*, at: float, request_id: str, monitor_id: str, monitor: str, request: Request,
          decision: Decision, status: int) -> dict[str, Any]:
    return {
        "v": VERSION,
        "time": iso_millis(at),
        "request_id": request_id,
        "monitor_id": monitor_id,
        "monitor": monitor,
        "request": request.to_dict(),
        "effect": decision.effect.value,
        "reason": decision.reason,
        "status": status,
    }


class DecisionLog:
    """Appends entries to `path` (created with its folder if needed); thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
