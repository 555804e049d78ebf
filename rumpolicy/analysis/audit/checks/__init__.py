"""The audit's checks, one module per group; importing this package registers them all."""

from rumpolicy.analysis.audit.checks import (  # noqa: F401
    access,
    alias,
    conditions,
    redundancy,
    rum,
    structure,
)
