"""Line keys: for each line, a line that replays exactly alike, found without decoding.

Identical lines replay alike, so a line can be its own key. Decision-log lines are all
different (each has its own `time` and `request_id`, and the gate stamps `aws:CurrentTime` into
the context), so for them the key rewrites what cannot change the outcome, and lines with equal
keys share one outcome. A key is itself a line, and it replays exactly as the line it came from
does, so a key that happens to equal some other line can never mislead.

* A head of `{"v": 1,` followed by members named in lower case, other than `v` and `request`,
  whose values are numbers or plain strings (printable ASCII without quotes or backslashes),
  with or without a space after `:` and `,` (the gate writes none), up to the first
  `"request":`, becomes `{"v":1,"request":`. Such a head parses the same way whatever its
  values, and a replay reads only `v` and `request`; what follows `"request":` is kept whole,
  so a later member that would override `v` still does.
* In what follows, the value of `"aws:CurrentTime":"..."` (and of other keys that no policy
  reads) becomes `""` when it is a plain string. The quote opening the name is either the start
  of a key or an escaped quote ending one (the key then ends in `"aws:CurrentTime`); it cannot
  close a string, as a letter never follows a closing quote in JSON. So the value rewritten is a
  string belonging to a key whose name is, or ends in, a name no policy reads (`blankable`), and
  a line stays valid or invalid alike: in a bad line only an error's column can move, so bad
  lines are listed with the reason read from their own text.

The gate's own layout (its head, then `aws:CurrentTime` and `aws:EpochTime` side by side) is
recognised first by two cheap matches; other layouts take the general expressions. Each rewrite
is exact on its own, so recognising less only shares fewer keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_PLAIN = rb'[ !#-\[\]-~]*'
_NUMBER = rb'-?(?:0|[1-9][0-9]{0,18})'
"""An integer both decoders read: `json` refuses more than 4,300 digits and orjson past 64 bits,
and a line whose head holds a longer one must stay its own key, bad as it is."""
_HEAD = re.compile(rb'\{"v": ?1, ?(?:"(?!v"|request")[a-z_]+": ?(?:"' + _PLAIN + rb'"|'
                   + _NUMBER + rb'), ?)*"request":')
_GATE_HEAD = re.compile(b''.join((rb'\{"v":1,"time":"', _PLAIN, rb'","request_id":"', _PLAIN,
                                  rb'","monitor_id":"', _PLAIN, rb'","monitor":"', _PLAIN,
                                  rb'","request":')))
"""The head the gate writes (rumpolicy/gate/decision_log.py): a case of `_HEAD`, cheaper."""
SHORT_HEAD = b'{"v":1,"request":'

VOLATILE_KEYS = ("aws:CurrentTime", "aws:EpochTime")
"""Context keys the gate stamps on every request: worth blanking when nothing reads them."""
_GATE_TIMES = re.compile(rb'"aws:CurrentTime":"' + _PLAIN + rb'","aws:EpochTime":"' + _PLAIN
                         + b'"')
_BLANK_TIMES = b'"aws:CurrentTime":"","aws:EpochTime":""'
_CURRENT_TIME = b'"aws:CurrentTime":"'


def blankable(keys_read: Iterable[str]) -> tuple[str, ...]:
    """The volatile keys whose values no policy can see: not read under their own name, nor
    under a name ending in a quote and their name (see the module docstring)."""
    read = {k.lower() for k in keys_read}
    return tuple(k for k in VOLATILE_KEYS
                 if k.lower() not in read and not any(r.endswith('"' + k.lower())
                                                      for r in read))


def line_key_function(blank: tuple[str, ...]) -> Callable[[bytes], bytes]:
    """The key function for lines, given the context keys that may be blanked."""
    gate_head, head = _GATE_HEAD.match, _HEAD.match
    blanks = []
    for name in blank:
        quoted = b'"' + name.encode() + b'":'
        blanks.append((re.compile(re.escape(quoted) + rb' ?"' + _PLAIN + b'"').sub,
                       quoted + b'""'))
    gate_times = _GATE_TIMES.match if set(blank) == set(VOLATILE_KEYS) else None

    def key(line: bytes) -> bytes:
        found = gate_head(line) or head(line)
        if found is None:
            return line
        start = found.end()
        if gate_times is not None:
            at = line.find(_CURRENT_TIME, start)
            times = gate_times(line, at) if at >= 0 else None
            if times is not None:
                return b"".join((SHORT_HEAD, line[start:at], _BLANK_TIMES, line[times.end():]))
        rest = line[start:]
        for sub, blanked in blanks:
            rest = sub(blanked, rest)
        return SHORT_HEAD + rest

    return key
