"""A pytest plugin: every `*.rollout` file is a test module, each expectation a test.

Registered as a `pytest11` entry point, so `pytest fixtures/rollouts/` (or any test path holding
.rollout files) runs them next to ordinary tests. A file that cannot be read is a collection
error showing `file:line:column: message`; a failing expectation shows what was expected, what
the policy decided and why, without a Python traceback.

The rollout machinery (and lark, for the grammar) is imported only when a .rollout file is
collected: once rumpolicy is installed the plugin loads into every pytest session, and sessions
without rollout files should pay only for importing the `rumpolicy` package itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rumpolicy.analysis.rollout import Expectation, LoadedRollout, Outcome

SUFFIX = ".rollout"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == SUFFIX:
        collector: RolloutFileCollector = RolloutFileCollector.from_parent(parent, path=file_path)
        return collector
    return None


class RolloutFileCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from rumpolicy.analysis.rollout import RolloutError, load_rollout

        try:
            loaded = load_rollout(self.path)
        except RolloutError as err:
            raise self.CollectError(err.format()) from None
        for expectation in loaded.rollout.expectations:
            yield RolloutItem.from_parent(self, name=f"line {expectation.position.line}",
                                          loaded=loaded, expectation=expectation)


class RolloutFailed(Exception):
    """An expectation that does not hold; carries the outcome to show."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


class RolloutItem(pytest.Item):
    def __init__(self, *, loaded: LoadedRollout, expectation: Expectation, **kwargs: Any
                 ) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.expectation = expectation

    def runtest(self) -> None:
        from rumpolicy.analysis.rollout import check

        outcome = check(self.loaded, self.expectation)
        if not outcome.passed:
            raise RolloutFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, RolloutFailed):
            outcome = excinfo.value.outcome
            where = f"{self.path}:{self.expectation.position.line}"
            return f"{where}: {self.expectation.text}\n{outcome.summary}\n{outcome.detail}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.expectation.position.line
        return self.path, line - 1, f"line {line}: {self.expectation.text}"
