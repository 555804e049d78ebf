"""Where policies live: which files a run reads (`discovery`), what each holds (`files`: a
policy document, a CloudFormation template, a Terraform plan, or nothing to read), and where a
policy's places stand in the file it came from (`documents.PositionMap`).

`validate` and `audit` both read through here, so they classify a file the same way.
"""

from rumpolicy.analysis.sources.discovery import DEFAULT_EXCLUDES, Candidate, Discovery, discover
from rumpolicy.analysis.sources.documents import (
    FileContents,
    PolicyText,
    PositionMap,
    Problem,
    Settings,
)
from rumpolicy.analysis.sources.files import STDIN, read_bytes, read_path, read_text
from rumpolicy.analysis.sources.globs import PatternSet

__all__ = [
    "DEFAULT_EXCLUDES",
    "STDIN",
    "Candidate",
    "Discovery",
    "FileContents",
    "PatternSet",
    "PolicyText",
    "PositionMap",
    "Problem",
    "Settings",
    "discover",
    "read_bytes",
    "read_path",
    "read_text",
]
