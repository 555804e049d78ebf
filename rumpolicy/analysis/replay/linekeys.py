"""Line keys: bytes that are equal only for lines that replay alike, found without decoding.

Identical lines replay alike, so a line is its own key. Decision-log lines are all different
(each has its own `time` and `request_id`, and the gate stamps `aws:CurrentTime` into the
context), so for them the key drops what cannot change the outcome:

* The members before `"request":` are dropped when they are exactly `{"v": 1,` followed by
  members named in lower case, other than `v`, whose values are numbers or plain strings
  (printable ASCII without quotes or backslashes), with or without a space after `:` and `,`
  (the gate writes none). Such a head parses the same way whatever its values; what follows
  `"request":` (kept whole) then decides everything the replay reads: the request, and any
  later member that would override one of the head.
* In what is kept, the value of the first `"aws:CurrentTime":"..."` (and of other keys that no
  policy reads) is blanked when it is a plain string. The quote opening the name is either the start
  of a key or an escaped quote ending one (the key then ends in `"aws:CurrentTime`); it
  cannot close a string, as a letter never follows a closing quote in JSON. So the blanked
  value belongs to a key whose name is, or ends in, a name no policy reads; it is a string in
  every line with this key, and changing a plain string keeps a line valid or invalid alike.
  A key the policies do read is never blanked (`blankable`).

Kept parts start with two newlines, which no line read by `readlines` contains, so a line
used whole as its own key can never equal the key of a shortened one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_PLAIN = rb'[ !#-\[\]-~]*'
_NUMBER = rb'-?(?:0|[1-9][0-9]*)'
_HEAD = re.compile(rb'\{"v": ?1, ?(?:"(?!v")[a-z_]+": ?(?:"' + _PLAIN + rb'"|' + _NUMBER
                   + rb'), ?)*')
_MARKER = b'"request":'
_SEPARATE = b"\n\n"
_PLAIN_BYTES = bytes(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C))

VOLATILE_KEYS = ("aws:CurrentTime", "aws:EpochTime")
"""Context keys the gate stamps on every request: worth blanking when nothing reads them."""


def blankable(keys_read: Iterable[str]) -> tuple[str, ...]:
    """The volatile keys whose values no policy can see: not read under their own name, nor
    under a name ending in a quote and their name (see the module docstring)."""
    read = {k.lower() for k in keys_read}
    return tuple(k for k in VOLATILE_KEYS
                 if k.lower() not in read and not any(r.endswith('"' + k.lower())
                                                      for r in read))


def line_key_function(blank: tuple[str, ...]) -> Callable[[bytes], bytes]:
    """The key function for lines, given the context keys that may be blanked."""
    names = tuple(f'"{k}":'.encode() for k in blank)
    head_match = _HEAD.fullmatch
    skip = len(_MARKER)

    def key(line: bytes) -> bytes:
        at = line.find(_MARKER)
        if at < 0 or head_match(line, 0, at) is None:
            return line
        rest = line[at + skip:]
        for name in names:
            found = rest.find(name)
            if found < 0:
                continue
            start = found + len(name)
            if rest[start:start + 1] == b" ":
                start += 1
            if rest[start:start + 1] != b'"':
                continue
            end = rest.find(b'"', start + 1)
            if end >= 0 and not rest[start + 1:end].translate(None, _PLAIN_BYTES):
                rest = rest[:start + 1] + rest[end:]
        return _SEPARATE + rest

    return key
