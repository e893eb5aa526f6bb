"""Zendesk's three pagination styles, as the emulator serves them.

- Cursor-based incremental export: an opaque cursor (base64 of
  ``"<updated_at>.0||<id>|"``, the shape real cursors decode to) marks a
  position in the ``(updated_at, id)`` order; ``b`` at the end marks a
  "before" cursor. Terminal marker: ``end_of_stream: true``.
- Cursor pagination (CBP) for lists: ``page[size]``/``page[after]``, answered
  with ``meta.has_more`` and absolute ``links.next``; zenpy stops when
  ``has_more`` is false.
- Offset pagination for lists without ``page[size]``: ``page``/``per_page``,
  answered with ``next_page`` (null on the last page) and ``count``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request


class BadCursor(ValueError):
    """The cursor could not be decoded (Zendesk answers 400)."""


def encode_cursor(key: tuple[int, int], before: bool = False) -> str:
    text = f"{key[0]}.0||{key[1]}|{'b' if before else ''}"
    return base64.b64encode(text.encode()).decode()


def decode_cursor(cursor: str) -> tuple[tuple[int, int], bool]:
    """``((updated_at, id), is_before)`` from an export cursor."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        stamp, _empty, ticket_id, direction = text.split("|")
        return (int(float(stamp)), int(ticket_id)), direction == "b"
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor(cursor) from None


def encode_offset(position: int) -> str:
    """A list cursor: base64 of the position, opaque to clients."""
    return base64.b64encode(f'{{"o":{position}}}'.encode()).decode()


def decode_offset(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        return max(0, int(text.strip("{}").split(":")[1]))
    except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
        raise BadCursor(cursor) from None


def base_url(request: Request) -> str:
    """scheme://host:port of this request, so next-page links point back at the emulator."""
    return str(request.base_url).rstrip("/")


def page_url(request: Request, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base_url(request)}{request.url.path}?{query}"


def int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    return max(1, min(value, maximum))


def paginate(request: Request, key: str, items: Sequence[Any], render, *, extra: dict | None = None,
             default_size: int = 100, max_size: int = 100) -> dict:
    """One page of a list endpoint in CBP when ``page[size]``/``page[after]`` is given, else offset style."""
    params = dict(request.query_params)
    keep = {k: v for k, v in params.items() if not k.startswith("page") and k != "per_page"}
    if "page[size]" in params or "page[after]" in params or "page[before]" in params:
        size = int_param(request, "page[size]", default_size, max_size)
        if "page[before]" in params:
            end = decode_offset(params["page[before]"])
            start = max(0, end - size)
        else:
            start = decode_offset(params["page[after]"]) if "page[after]" in params else 0
            end = min(len(items), start + size)
        has_more = end < len(items)
        body = {key: [render(item) for item in items[start:end]], **(extra or {})}
        body["meta"] = {"has_more": has_more, "after_cursor": encode_offset(end) if end > start else None,
                        "before_cursor": encode_offset(start) if end > start else None}
        body["links"] = {
            "prev": page_url(request, {**keep, "page[before]": encode_offset(start), "page[size]": size}) if start > 0 else None,
            "next": page_url(request, {**keep, "page[after]": encode_offset(end), "page[size]": size}) if has_more else None,
        }
        return body
    per_page = int_param(request, "per_page", default_size, max_size)
    page = int_param(request, "page", 1, 10**9)
    start = (page - 1) * per_page
    body = {key: [render(item) for item in items[start:start + per_page]], **(extra or {})}
    more = start + per_page < len(items)
    body["next_page"] = page_url(request, {**keep, "page": page + 1, "per_page": per_page}) if more else None
    body["previous_page"] = page_url(request, {**keep, "page": page - 1, "per_page": per_page}) if page > 1 else None
    body["count"] = len(items)
    return body
