"""The static HTML report: built by ``deskbridge report`` from a constructed store, opened in headless Chromium.

Chromium must be installed (Debian: ``apt-get install -y chromium``); these tests fail, not skip, without it,
so CI cannot pass while never opening the page.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_metrics import END, MON, POLICY_YAML, populate
from typer.testing import CliRunner

from cli.main import app
from core.metrics import compute_metrics
from core.metrics_models import Filters
from core.metrics_records import EscalationEvent, MetricTicket
from core.metrics_window import Window
from core.report_html import CHARTS, render_html, tte_histogram
from core.report_svg import PALETTE, nice_ceiling
from core.store import Store

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip
WIDTH, HEIGHT = 1280, 2000


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is required for the report tests: apt-get install -y chromium")
    return found


def run_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The report of the hand-computed history, written by the real command."""
    root = tmp_path_factory.mktemp("report")
    (root / "mapping").mkdir()
    (root / "mapping" / "policy.yaml").write_text(POLICY_YAML)
    url = f"sqlite:///{root / 'state.db'}"
    with Store.open(url, clock=lambda: END) as store:
        populate(store)
    out = root / "out" / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(out), "--since", "2026-03-02", "--until",
                                      END.isoformat(), "--mapping-dir", str(root / "mapping"), "--state-url", url])
    assert result.exit_code == 0, result.output
    assert "7 active tickets, 4 escalated" in result.output
    return out


# -- the page in a real browser ---------------------------------------------------------------


class ChartCensus(HTMLParser):
    """Counts, per chart, the SVG marks the browser's DOM holds."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, Counter] = {}
        self._current: str | None = None
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg" and "chart" in (attributes.get("class") or ""):
            self._current = attributes["data-chart"]
            self.charts[self._current] = Counter()
        elif self._current is not None:
            self.charts[self._current][f"{tag}.{attributes.get('class') or ''}".rstrip(".")] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self._current = None


def test_browser_dom_has_every_chart_with_its_marks(page, tmp_path):
    result = run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    census = ChartCensus()
    census.feed(result.stdout)
    assert tuple(census.charts) == CHARTS
    assert census.scripts == 0
    rate = census.charts["escalation-rate"]
    # one line per helpdesk with tickets plus "all"; a point per period with active tickets: all, zendesk and
    # servicenow have 3, jira 2 (no jira ticket was open on Monday)
    assert rate["path.series"] == 4 and rate["circle"] == 3 + 3 + 3 + 2
    assert census.charts["breach-by-tier"]["rect.bar"] == 3  # business, premier, standard
    assert census.charts["reasons-by-trigger"]["rect.bar"] == 3  # at_risk, breached, keyword
    assert census.charts["time-to-escalate"]["rect.bar"] == 8  # every bin, empty ones at height 0


def test_screenshot_is_a_real_rendering(page, tmp_path):
    shot = tmp_path / "report.png"
    result = run_chromium(page, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert result.returncode == 0, result.stderr[-2000:]
    width, height, rows = read_png(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    sampled = Counter(row[x: x + 3] for row in rows[::4] for x in range(0, len(row), 12))
    background = sampled.most_common(1)[0][1]
    assert len(sampled) > 50  # text, charts, borders: many colours, not a blank page
    assert sum(sampled.values()) - background > 0.05 * sum(sampled.values())
    colours = set(sampled)
    for hex_colour in PALETTE[:3]:  # the series / bar colours: the SVG was painted, not just laid out
        assert bytes.fromhex(hex_colour[1:]) in colours, hex_colour


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """A small PNG reader (8-bit RGB/RGBA, non-interlaced): width, height and the unfiltered rows."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos: pos + 4])
        kind, body = data[pos + 4: pos + 8], data[pos + 8: pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1: (y + 1) * (stride + 1)]
        previous = _unfilter(kind, line, previous, bpp)
        rows.append(previous)
    return width, height, rows


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:  # Up: bytewise (a + b) mod 256, done on whole rows as big integers
        n = len(line)
        low, high = int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")
        a, b = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
        return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(n, "big")
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        up, corner = prev[i], (prev[i - bpp] if i >= bpp else 0)
        if kind == 1:
            predictor = left
        elif kind == 3:
            predictor = (left + up) // 2
        else:  # Paeth
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        out[i] = (out[i] + predictor) & 0xFF
    return bytes(out)


# -- the page itself --------------------------------------------------------------------------


def test_page_is_self_contained(page):
    html = page.read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html and "url(" not in html
    # the only URL is the SVG namespace, which browsers never fetch
    assert {part.split('"')[0] for part in html.split("http")[1:]} == {"://www.w3.org/2000/svg"}


def test_text_from_tickets_is_escaped():
    hostile = MetricTicket(
        system="zendesk", ticket_id="1", key="#1", tier="<b>gold</b>", priority="normal", group="l1",
        product_area='<img src=x onerror="alert(1)">', account_id="acct", created_at=MON + timedelta(hours=1),
        ended_at=None, agent_replies=0, reassignments=0,
        events=(EscalationEvent(MON + timedelta(hours=2), "auto", 1, ("r",), ("keyword:<script>",)),),
    )  # fmt: skip
    window = Window(MON, MON + timedelta(days=1), "day")
    html = render_html(compute_metrics([hostile], window, Filters(), datetime(2026, 3, 3, tzinfo=UTC)))
    assert "<img" not in html and "<script" not in html and "<b>gold" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html and "&lt;b&gt;gold&lt;/b&gt;" in html


def test_time_to_escalate_bins():
    # 45 -> 30m-1h; 120 and 180 -> 2-4h (bins are [low, high)); 480 -> 8-16h; 0 -> <15m; 5000 -> 16h+
    counts = {bar.label: bar.value for bar in tte_histogram([45, 120, 180, 480, 0, 5000])}
    assert counts == {"<15m": 1, "15-30m": 0, "30m-1h": 1, "1-2h": 0, "2-4h": 2, "4-8h": 0, "8-16h": 1, "16h+": 1}


def test_axis_bounds():
    assert [nice_ceiling(v, True) for v in (0.0, 0.04, 0.25, 0.57, 0.7, 1.0)] == [0.2, 0.2, 0.4, 0.6, 0.8, 1.0]
    # counts: a quarter of the maximum rounded up to 1, 2, 3 or 5 x 10^k, times four
    assert [nice_ceiling(v, False) for v in (0, 2, 3, 7, 9, 30, 130)] == [4, 4, 4, 8, 12, 40, 200]


def test_empty_window_still_renders_every_chart():
    window = Window(MON, MON + timedelta(days=2), "day")
    html = render_html(compute_metrics([], window, Filters(), MON))
    assert all(f'data-chart="{name}"' in html for name in CHARTS)
    assert html.count("no data in this window") == 3 and "no escalations in this window" in html
