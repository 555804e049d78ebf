"""The audit's checks, one module per group; importing this package registers them all, and
`registered()` is the list to run (the registry itself never imports the checks)."""

from rumpolicy.analysis.audit.checks import (  # noqa: F401
    access,
    alias,
    conditions,
    redundancy,
    rum,
    structure,
)
from rumpolicy.analysis.audit.registry import registered

__all__ = ["registered"]
