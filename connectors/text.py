"""Plain text out of what helpdesks store: HTML bodies, Atlassian Document Format, journal markup.

Rules, keyword triggers and handoff notes read plain text, whatever the helpdesk
sent. These functions never raise on odd input: unknown HTML tags and ADF node
types contribute their text and nothing else.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from connectors.raw import storable

_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer",
}
_SKIP_TAGS = {"script", "style", "head", "title"}
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_SN_CODE_RE = re.compile(r"\[code\](.*?)\[/code\]", re.DOTALL | re.IGNORECASE)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "pre":
            self._pre += 1
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS and tag not in ("br", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # source line breaks are only whitespace in HTML; blocks and <br> make the lines
            self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def tidy(text: str) -> str:
    """Normalise line ends, trim each line, keep at most one blank line between paragraphs (storable text)."""
    text = storable(text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def _render_html(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, entities decoded, paragraphs kept as lines."""
    return tidy(_render_html(markup)) if markup else ""


def looks_like_html(text: str) -> bool:
    return bool(_TAG_RE.search(text))


def _segment(text: str) -> str:
    if looks_like_html(text):
        return _render_html(text)
    return html.unescape(text) if "&" in text else text


def to_plain(text: str | None) -> str:
    """Plain text from a body that may or may not be HTML (or hold ServiceNow ``[code]`` HTML)."""
    if not text:
        return ""
    parts: list[str] = []
    position = 0
    for match in _SN_CODE_RE.finditer(text):  # ServiceNow journals: [code]<html>[/code] inside plain text
        parts += [_segment(text[position:match.start()]), _render_html(match.group(1))]
        position = match.end()
    parts.append(_segment(text[position:]))
    return tidy("".join(parts))


def adf_to_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format document (Jira Cloud API v3 bodies)."""
    return tidy(_adf(node))


_ADF_BLOCKS = {
    "paragraph", "heading", "blockquote", "codeBlock", "panel", "rule", "mediaSingle",
    "table", "tableRow", "expand", "nestedExpand", "taskItem", "decisionItem",
}


def _adf(node: Any) -> str:
    if isinstance(node, list):
        return "".join(_adf(child) for child in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type") if isinstance(node.get("type"), str) else None
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "date"):
        value = attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or ""
        return str(value)
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    inner = _adf(node.get("content", []))
    if kind == "listItem":
        return "\n- " + inner.strip()
    if kind in ("bulletList", "orderedList"):
        return inner + "\n"
    if kind == "tableCell" or kind == "tableHeader":
        return inner.strip() + " "
    if kind in _ADF_BLOCKS:
        return inner + "\n\n"
    return inner


def body_text(body: Any) -> str:
    """A Jira body: API v2 plain string or API v3 ADF document; anything else is empty."""
    if isinstance(body, str):
        return to_plain(body)
    if isinstance(body, dict):
        return adf_to_text(body)
    return ""
