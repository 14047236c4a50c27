"""The audit reports' timeline: for each key, when it came in, when it left the branch
tips (if it did) and its status, drawn as an inline SVG (no script, nothing fetched), so
the page opens offline and under the report's Content Security Policy."""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from nexpay_scan.findings import (
    LIVE,
    REVOKED,
    SUPPRESSION,
    UNKNOWN,
    UNVERIFIED,
    Finding,
    status_rank,
)
from nexpay_scan.reporters import Report

COLORS = {LIVE: "#b42318", UNKNOWN: "#b54708", UNVERIFIED: "#475467", REVOKED: "#067647"}
_LABEL_WIDTH, _PLOT_WIDTH, _ROW, _TOP, _BOTTOM = 260, 560, 22, 26, 30
_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'  # a file of its own needs it; inline, HTML knows
_MAX_ROWS = 200  # a report of thousands of keys draws the first ones (live first)


class Lane(NamedTuple):
    """One key on the timeline: its label, status, when it came in and when it left the
    branch tips (None: still present, or not known)."""

    label: str
    status: str
    came_in: str
    left: str | None
    still_present: bool


def _time(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return datetime.datetime.fromisoformat(date).timestamp()
    except ValueError:
        return None


def _day(stamp: float) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%d")


def timeline_svg(
    lanes: Sequence[Lane], now: float | None = None, *, standalone: bool = False
) -> str:
    """The timeline as one `<svg>` element ("" when no key has a date): a bar per key from
    when it came in to when it left the tips, or to today (drawn open) while present."""
    now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else now
    dated = [(lane, _time(lane.came_in)) for lane in lanes[:_MAX_ROWS]]
    rows = [(lane, start) for lane, start in dated if start is not None]
    if not rows:
        return ""
    first = min(start for _, start in rows)
    ends = [t for lane, _ in rows if (t := _time(lane.left)) is not None]
    last = max([now, *ends])
    span = max(last - first, 86400.0)

    def x(stamp: float) -> float:
        return _LABEL_WIDTH + _PLOT_WIDTH * (stamp - first) / span

    height = _TOP + _ROW * len(rows) + _BOTTOM
    width = _LABEL_WIDTH + _PLOT_WIDTH + 20
    parts = [
        f'<svg{_XMLNS if standalone else ""} class="timeline" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, DejaVu Sans, sans-serif" font-size="12">',
        "<title>Timeline: when each key came in and when it left the branch tips</title>",
        f'<text x="{_LABEL_WIDTH}" y="14" fill="#475467">{_day(first)}</text>',
        f'<text x="{_LABEL_WIDTH + _PLOT_WIDTH}" y="14" text-anchor="end" fill="#475467">'
        f"{_day(last)}</text>",
    ]
    for n, (lane, start) in enumerate(rows):
        parts.append(_lane(lane, start, n, x, now))
    axis_y = _TOP + _ROW * len(rows) + 6
    parts.append(
        f'<line x1="{_LABEL_WIDTH}" y1="{axis_y}" x2="{_LABEL_WIDTH + _PLOT_WIDTH}" '
        f'y2="{axis_y}" stroke="#98a2b3"/>'
    )
    parts.append(
        f'<text x="{_LABEL_WIDTH}" y="{axis_y + 18}" fill="#475467">solid: in the branch tips; '
        "hollow end: left them; colour: status</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _lane(lane: Lane, start: float, n: int, x: Callable[[float], float], now: float) -> str:
    y = _TOP + _ROW * n
    end_time = _time(lane.left)
    gone = end_time is not None and not lane.still_present
    end = x(end_time if gone and end_time is not None else now)
    begin = x(start)
    color = COLORS.get(lane.status, COLORS[UNVERIFIED])
    left_text = f"left the tips {lane.left[:10]}" if gone and lane.left else "still present"
    if not lane.still_present and not gone:
        left_text = "left the tips (date unknown)"
    tip = f"{lane.label}: {lane.status}, came in {lane.came_in[:10]}, {left_text}"
    label = lane.label if len(lane.label) <= 38 else lane.label[:37] + "…"
    bar = (
        f'<rect class="lane {html.escape(lane.status)}" x="{begin:.1f}" y="{y + 4}" '
        f'width="{max(end - begin, 3):.1f}" height="12" rx="2" fill="{color}" '
        f'fill-opacity="{0.35 if gone else 0.9}" stroke="{color}"/>'
    )
    return (
        f"<g><title>{html.escape(tip)}</title>"
        f'<text x="{_LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end">'
        f"{html.escape(label)}</text>{bar}</g>"
    )


def lanes_of(report: Report) -> list[Lane]:
    """One lane per distinct key of a repository's report, live first, oldest first."""
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        if finding.commit is not None and finding.kind != SUPPRESSION:
            groups.setdefault(finding.secret.reveal(), []).append(finding)
    lanes = []
    for value, group in groups.items():
        dates = [f.commit.date for f in group if f.commit is not None]
        came_in = min(dates, key=lambda d: _time(d) or 0.0)
        present = any(f.at_head or f.present_at for f in group)
        left = max(
            (f.left_at for f in group if f.left_at), key=lambda d: _time(d) or 0.0, default=None
        )
        label = f"{group[0].label} {report.shown(value)}"
        lanes.append(Lane(label, group[0].status, came_in, left, present))
    return sorted(lanes, key=lambda lane: (status_rank(lane.status), _time(lane.came_in) or 0.0))


def timeline_html(lanes: Sequence[Lane]) -> str:
    """The timeline under its heading, for an HTML report ("" without dated keys)."""
    svg = timeline_svg(lanes)
    return f'<h2>Timeline</h2>\n<figure id="timeline">{svg}</figure>' if svg else ""


def timeline_markdown(lanes: Sequence[Lane]) -> list[str]:
    """The timeline for a Markdown report: the SVG as an inline image (a `data:` URI, no
    markup and nothing fetched) and the same facts as a list for viewers that do not draw it."""
    import base64

    svg = timeline_svg(lanes, standalone=True)
    if not svg:
        return []
    encoded = base64.b64encode(svg.encode()).decode()
    out = ["## Timeline", "", f"![Timeline of the keys](data:image/svg+xml;base64,{encoded})", ""]
    for lane in lanes:
        end = (
            f"left the tips {lane.left[:10]}"
            if lane.left and not lane.still_present
            else ("still present" if lane.still_present else "left the tips (date unknown)")
        )
        out.append(f"- {_md(lane.label)} ({lane.status}): came in {lane.came_in[:10]}, {end}")
    return [*out, ""]


def _md(text: str) -> str:
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|~" else c for c in text)


def earliest(dates: Iterable[str | None]) -> str | None:
    """The earliest of ISO dates (None given or none parse)."""
    known = [d for d in dates if d and _time(d) is not None]
    return min(known, key=lambda d: _time(d) or 0.0, default=None)


def latest(dates: Iterable[str | None]) -> str | None:
    """The latest of ISO dates (None given or none parse)."""
    known = [d for d in dates if d and _time(d) is not None]
    return max(known, key=lambda d: _time(d) or 0.0, default=None)
