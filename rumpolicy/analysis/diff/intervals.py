"""Addresses, numbers and dates cut into intervals by the values conditions compare them with.

- `IpValues`: the CIDR blocks cut each IP version into intervals, plus "not an address" (which
  takes in the IPv4-mapped IPv6 block: the engine finds those undecidable, as unreadable text).
- `OrderedValues`: the thresholds cut the line into points and open intervals, plus "not a
  number" (or date).

Witnesses are re-read by the engine's own reader to confirm they land in their interval.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext

from rumpolicy.analysis.diff.describe import cover, join_or
from rumpolicy.analysis.diff.errors import InternalError
from rumpolicy.engine.operators import IPV4_MAPPED

_BITS = {4: 32, 6: 128}
_NICE_ADDRESSES = {4: (0xC0000201, 0xC6336401, 0xCB007101, 0x0A000001),  # 192.0.2.1, ...
                   6: (0x20010DB8 << 96 | 1,)}
_NOT_AN_ADDRESS = "not-an-ip"


def _address_text(version: int, number: int) -> str:
    return str(ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number))


class IpValues:
    """Addresses cut at every CIDR boundary the policies name, per IP version."""

    def __init__(self, networks: Iterable[tuple[int, int, int]],
                 read: Callable[[str], tuple[int, int] | None]) -> None:
        self._read = read
        cuts: dict[int, set[int]] = {4: {0, 1 << 32}, 6: {0, 1 << 128}}
        named: dict[tuple[int, int, int], str] = {}
        for version, network, mask in networks:
            size = (1 << _BITS[version]) - mask
            cuts[version] |= {network, network + size}
            prefix = _BITS[version] - (size.bit_length() - 1)
            named[(version, network, size)] = str(ipaddress.ip_network((network, prefix)) if
                                                  version == 4 else
                                                  ipaddress.IPv6Network((network, prefix)))
        self.networks = [(*key, text) for key, text in sorted(named.items())]
        """(version, first address, size, CIDR text) of each block the policies name."""
        mapped, mapped_size = IPV4_MAPPED
        cuts[6] |= {mapped, mapped + mapped_size}
        self._cuts = {v: sorted(c) for v, c in cuts.items()}
        self.intervals: list[tuple[int, int, int] | None] = []
        self._class_at: dict[tuple[int, int], int] = {}
        """(version, interval number among that version's cuts) -> class."""
        reps: list[str] = []
        for version in (4, 6):
            points = self._cuts[version]
            for number, (low, high) in enumerate(itertools.pairwise(points)):
                if version == 6 and mapped <= low and high <= mapped + mapped_size:
                    continue  # IPv4-mapped: the engine cannot read them (the unreadable class)
                self._class_at[(version, number)] = len(reps)
                self.intervals.append((version, low, high))
                reps.append(_address_text(version, self._nice(version, low, high)))
        self.unreadable = len(reps)
        self.intervals.append(None)
        reps.append(_NOT_AN_ADDRESS)
        self.reps = tuple(reps)
        for index, rep in enumerate(self.reps):
            if self.classify(rep) != index:
                raise InternalError(f"address witness {rep!r} is not in its interval")

    @staticmethod
    def _nice(version: int, low: int, high: int) -> int:
        for number in _NICE_ADDRESSES[version]:
            if low <= number < high:
                return number
        return low + 1 if high - low > 2 else low

    def classify(self, text: str) -> int | None:
        read = self._read(text)
        if read is None:
            return self.unreadable
        version, number = read
        return self._class_at.get((version, bisect.bisect_right(self._cuts[version], number) - 1),
                                  self.unreadable)

    def describe(self, indices: frozenset[int]) -> list[str]:
        """Words built from the policies' own blocks: "is in 2001:db8::/40 but not in
        2001:db8:1::/48", "is an IP address not in 198.51.100.0/24" (`describe.cover` over the
        atoms "is an address", "is IPv4", "is IPv6" and each block)."""
        signatures = [self._signature(iv) for iv in self.intervals]
        on = [signatures[i] for i in sorted(indices)]
        off = [s for i, s in enumerate(signatures) if i not in indices]

        def rank(index: int, value: bool) -> tuple[int, int]:
            return (0 if index in (1, 2) and value else 1 if not value else 2, index)

        phrases = [self._phrase(cube) for cube in cover(on, off, rank)]
        simple = [p for p in phrases if p.startswith("is in ") and " " not in p[6:]]
        if len(simple) > 1:
            phrases = ["is in " + join_or([p[6:] for p in simple])] + \
                [p for p in phrases if p not in simple]
        return phrases

    def _signature(self, interval: tuple[int, int, int] | None) -> tuple[bool, ...]:
        if interval is None:
            return (False,) * (3 + len(self.networks))
        version, low, high = interval
        return (True, version == 4, version == 6,
                *(v == version and start <= low and high <= start + size
                  for v, start, size, _ in self.networks))

    def _phrase(self, cube: dict[int, bool]) -> str:
        inside = [n for i, n in enumerate(self.networks) if cube.get(3 + i) is True]
        outside = [n[3] for i, n in enumerate(self.networks) if cube.get(3 + i) is False]
        but_not = f" but outside {join_or(outside, 'and')}" if outside else ""
        if inside:
            return f"is in {min(inside, key=lambda n: n[2])[3]}{but_not}"
        for index, noun in ((1, "an IPv4 address"), (2, "an IPv6 address"),
                            (0, "an IP address")):
            if cube.get(index) is True:
                return f"is {noun}" + (f" outside {join_or(outside, 'and')}" if outside else "")
        if cube.get(0) is False or (cube.get(1) is False and cube.get(2) is False):
            return "is not an IP address (or is an IPv4-mapped IPv6 one)"
        words = [f"is not an IPv{v} address" for i, v in ((1, 4), (2, 6))
                 if cube.get(i) is False]
        if outside:
            words.append(f"is not in {join_or(outside)}")  # nor is it an address there
        return " and ".join(words) or "is any value"


# --- numbers and dates -----------------------------------------------------------------------

_YEAR_ONE = Decimal(int(datetime(1, 1, 1, tzinfo=UTC).timestamp()))
_LATEST_OFFSET = 86_340
"""+23:59, the largest zone offset a date string may carry."""
_DATE_MIN = _YEAR_ONE - _LATEST_OFFSET
"""The earliest instant a date string can name: 0001-01-01T00:00:00+23:59."""


@dataclass(frozen=True, slots=True)
class _Kind:
    noun: str
    unreadable: str
    below: str
    at_most: str
    at: str
    above: str
    at_least: str


_NUMBER = _Kind("number", "not-a-number", "is below {}", "is at most {}", "is {}",
                "is above {}", "is at least {}")
_DATE = _Kind("date", "not-a-date", "is before {}", "is at or before {}", "is {}",
              "is after {}", "is at or after {}")


def number_text(value: Decimal) -> str:
    return format(value, "f")


def date_text(value: Decimal) -> str | None:
    """A date string `read_date` reads back as `value`: ISO 8601 in UTC when the year fits in
    four digits; in the last day before 0001-01-01T00:00:00Z, that day's time at +23:59 (the
    earliest instants a date string can name); else epoch seconds (which cannot be negative)."""
    whole = int(value.to_integral_value(rounding="ROUND_FLOOR"))
    fraction = value - whole
    zone, offset = ("+23:59", _LATEST_OFFSET) if _DATE_MIN <= value < _YEAR_ONE else ("Z", 0)
    try:
        moment = datetime.fromtimestamp(whole + offset, UTC)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is not None and 1 <= moment.year <= 9999:
        text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
        if fraction:
            text += "." + number_text(fraction).split(".")[1]
        return text + zone
    if value >= 0:
        text = number_text(value)
        return text if "." in text or len(text) != 4 else text + ".0"
    return None


class OrderedValues:
    """Numbers or dates cut at every threshold: points, and the open intervals between."""

    def __init__(self, thresholds: Iterable[Decimal], read: Callable[[str], Decimal | None],
                 *, dates: bool) -> None:
        self._read = read
        self._kind = _DATE if dates else _NUMBER
        self._show: Callable[[Decimal], str | None] = date_text if dates else number_text
        points = sorted(set(thresholds))
        self.points = points
        # class 0: unreadable; then (-inf, p0), {p0}, (p0, p1), ..., {pn}, (pn, inf)
        pieces: list[tuple[Decimal | None, Decimal | None, bool]] = []
        previous: Decimal | None = None
        for point in points:
            pieces.append((previous, point, False))
            pieces.append((point, point, True))
            previous = point
        pieces.append((previous, None, False))
        self.pieces: list[tuple[Decimal | None, Decimal | None, bool] | None] = []
        self._class_of_piece: list[int | None] = []
        reps: list[str] = []
        for piece in pieces:
            rep = self._witness(*piece)
            if rep is None:
                if dates and piece[1] is not None and piece[1] <= _DATE_MIN + 1:
                    self._class_of_piece.append(None)  # earlier than any date string can name
                    continue
                raise InternalError(f"no {self._kind.noun} string for the interval {piece}")
            self._class_of_piece.append(len(self.pieces))
            self.pieces.append(piece)
            reps.append(rep)
        self.unreadable = len(reps)
        self.pieces.append(None)
        reps.append(self._kind.unreadable)
        self.reps = tuple(reps)
        for index, rep in enumerate(self.reps):
            if self.classify(rep) != index:
                raise InternalError(f"{self._kind.noun} witness {rep!r} is not in its interval")

    def _witness(self, low: Decimal | None, high: Decimal | None, point: bool) -> str | None:
        candidates: list[Decimal] = []
        if point:
            assert low is not None
            candidates.append(low)
        elif low is None and high is None:
            candidates.append(Decimal(1764547200) if self._kind is _DATE else Decimal(0))
        elif low is None:
            assert high is not None
            candidates += [_floor(high) - 1, high - 1, high - Decimal("0.5")]
        elif high is None:
            candidates += [_floor(low) + 1, low + 1]
        else:
            with localcontext() as context:
                context.prec = 200
                candidates += [_floor(low) + 1, (low + high) / 2]
            candidates = [c for c in candidates if low < c < high]
        for candidate in candidates:
            text = self._show(candidate)
            if text is not None and self._read(text) == candidate:
                return text
        return None

    def classify(self, text: str) -> int | None:
        value = self._read(text)
        if value is None:
            return self.unreadable
        position = bisect.bisect_left(self.points, value)
        on_point = position < len(self.points) and self.points[position] == value
        return self._class_of_piece[2 * position + (1 if on_point else 0)]

    def describe(self, indices: frozenset[int]) -> list[str]:
        phrases: list[str] = []
        spans: list[tuple[Decimal | None, bool, Decimal | None, bool]] = []
        for index, piece in enumerate(self.pieces):
            if piece is None or index not in indices:
                continue
            low, high, point = piece
            span = (low, point, high, point)  # (low, low closed, high, high closed)
            if spans and spans[-1][2] == low and low is not None and (spans[-1][3] or point):
                spans[-1] = (spans[-1][0], spans[-1][1], high, point)
            else:
                spans.append(span)
        for low, low_closed, high, high_closed in spans:
            phrases.append(self._span_phrase(low, low_closed, high, high_closed))
        if self.unreadable in indices:
            phrases.append(f"is not a {self._kind.noun}")
        return phrases

    def _span_phrase(self, low: Decimal | None, low_closed: bool, high: Decimal | None,
                     high_closed: bool) -> str:
        kind = self._kind

        def show(value: Decimal) -> str:
            return f"`{self._show(value) or number_text(value)}`"

        if low is None and high is None:
            return f"is any {kind.noun}"
        if low is not None and high is not None and low == high:
            return kind.at.format(show(low))
        if low is None:
            assert high is not None
            return (kind.at_most if high_closed else kind.below).format(show(high))
        if high is None:
            return (kind.at_least if low_closed else kind.above).format(show(low))
        return (kind.at_least if low_closed else kind.above).format(show(low)) + " and " + \
            (kind.at_most if high_closed else kind.below).format(show(high)).removeprefix("is ")


def _floor(value: Decimal) -> Decimal:
    return value.to_integral_value(rounding="ROUND_FLOOR")
