"""Pagination as the List and Get operations answer it: at most MaxResults items, and a
NextToken that resumes after the last one returned.

A token is the sort key of the last item returned, base64url-encoded, so a page stays right when
items are added or removed between calls (a position would skip or repeat items). A token that
is not one this gate wrote is a ValidationException naming the member.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from rumpolicy.gate.validation import member_error

Item = TypeVar("Item")


def page(items: Sequence[Item], key: Callable[[Item], str], max_results: int | None,
         next_token: str | None, *, default: int = 100, member: str = "NextToken"
         ) -> tuple[list[Item], str | None]:
    """(this page of `items`, sorted by `key`, and the token for the next page or None)."""
    after = None if next_token is None else decode_token(next_token, member)
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > after]
    limit = default if max_results is None else max_results
    chosen = ordered[:limit]
    more = len(ordered) > limit and chosen
    return chosen, encode_token(key(chosen[-1])) if more else None


def encode_token(key: str) -> str:
    """The NextToken that resumes after the item whose sort key is `key`."""
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_token(token: str, member: str = "NextToken") -> str:
    """The sort key a NextToken resumes after, or ValidationException naming `member`."""
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True
                                ).decode("utf-8")
    except (ValueError, UnicodeError):
        raise member_error(member, token, "Member must be a token returned by a previous "
                                          "call") from None
