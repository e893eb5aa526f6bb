"""Plain text out of HTML, Atlassian Document Format and ServiceNow journal markup."""

from __future__ import annotations

from connectors.text import adf_to_text, body_text, html_to_text, to_plain


def test_html_blocks_entities_and_scripts():
    markup = ('<div class="zd-comment"><p dir="auto">Thanks,\n<br> The Customer</p><ul><li>one</li><li>two &amp; three'
              '</li></ul><script>alert(1)</script><style>p{}</style><p>caf&eacute; &#8212; done</p></div>')
    assert html_to_text(markup) == "Thanks,\nThe Customer\n\n- one\n- two & three\n\ncafé — done"


def test_plain_text_is_left_alone_but_entities_decoded():
    assert to_plain("a < b and c > d") == "a < b and c > d"
    assert to_plain("Fish &amp; chips\r\n\r\n\r\n\r\nnext") == "Fish & chips\n\nnext"
    assert to_plain(None) == "" and to_plain("") == ""


def test_servicenow_code_blocks():
    assert to_plain("Note: [code]<b>bold</b> &lt;x&gt;[/code] end") == "Note: bold <x> end"


def test_adf_document():
    doc = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Outage"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Hi "}, {"type": "mention", "attrs": {"id": "x", "text": "@Alex"}},
            {"type": "text", "text": ","}, {"type": "hardBreak"}, {"type": "text", "text": "see "},
            {"type": "inlineCard", "attrs": {"url": "https://status.acme.test"}},
            {"type": "emoji", "attrs": {"shortName": ":fire:"}}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "EU"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "US"}]}]}]},
        {"type": "unknownNode", "content": [{"type": "text", "text": "kept"}]},
        {"type": "text"}, "garbage", None,
    ]}
    assert adf_to_text(doc) == "Outage\n\nHi @Alex,\nsee https://status.acme.test:fire:\n\n- EU\n- US\nkept"


def test_body_text_accepts_v2_strings_and_v3_documents():
    assert body_text("plain v2 body") == "plain v2 body"
    assert body_text({"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "v3"}]}]}) == "v3"
    assert body_text(None) == "" and body_text(42) == ""
