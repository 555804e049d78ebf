"""JSON paths of the parts of a statement, for `policy.locate`.

A path to an array item that is really a scalar falls back to the element itself (`locate`
walks up), so `[i]` can always be written.
"""

from __future__ import annotations

from rumpolicy.policy.models import Condition, Statement


def element(statement: Statement, name: str, index: int | None = None) -> str:
    return f"{statement.path}.{name}" + ("" if index is None else f"[{index}]")


def value(condition: Condition, index: int) -> str:
    return f"{condition.path}[{index}]"


def operator(condition: Condition) -> str:
    """The operator's own key (`...Condition.StringEquals`)."""
    return condition.path.rpartition(".")[0] if "." in condition.path else condition.path


def principal(statement: Statement, kind: str, index: int, negated: bool = False) -> str:
    return f"{statement.path}.{'NotPrincipal' if negated else 'Principal'}.{kind}[{index}]"
