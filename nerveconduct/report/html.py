"""HTML building blocks of the report: escaping, numbers, tables, embedded figures, print CSS.

Everything that reaches the page goes through :func:`esc` (``html.escape`` with quotes), so
names read from files cannot inject markup. Numbers are formatted with a fixed number of
decimals per kind and carried unrounded in ``data-value`` attributes, so a program can read
the report back exactly.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from typing import Any, Iterable, Sequence

from .._checks import check_option

__all__ = [
    "CSS",
    "PAPERS",
    "css_string",
    "print_css",
    "DECIMALS",
    "IMAGE_FORMATS",
    "esc",
    "fmt",
    "Cell",
    "cell",
    "table",
    "figure_html",
    "definition_list",
    "page",
]

#: Ways a figure is embedded: base64 PNG data URI, or inline SVG.
IMAGE_FORMATS = ("png", "svg")

#: Decimals shown per kind of value.
DECIMALS = {"ms": 2, "mv": 2, "mv_ms": 1, "mm": None, "m_s": 1, "pct": 1, "index": 3, "c": 1, "hz": None,
            "uv": 1, "count": 0}

#: Paper sizes the report is laid out for (``@page { size: … }``).
PAPERS = {"a4": "A4", "letter": "letter"}

CSS = """
@page { size: A4; margin: 14mm 12mm 12mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 8.5pt; color: #111;
       max-width: 190mm; margin: 0 auto; padding: 8px; line-height: 1.2; }
h1 { font-size: 14pt; margin: 0 0 4px 0; }
h2 { font-size: 11pt; margin: 7px 0 3px 0; border-bottom: 1px solid #999;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 9.5pt; margin: 7px 0 2px 0; break-after: avoid; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 3px 0 6px 0; font-size: 7.5pt; }
th, td { border: 1px solid #bbb; padding: 1px 3px; text-align: right; vertical-align: top; }
th { background: #eee; font-weight: bold; vertical-align: bottom; }
td.text, th.text { text-align: left; }
table.sites th, table.segments th, table.limits th { white-space: nowrap; }
table.sites td.flags, table.segments td.flags { font-size: 6.5pt; }
thead { display: table-header-group; }
td.abn, span.abn { color: #b03a2e; font-weight: bold; }
td.absent { color: #7f8c8d; font-style: italic; }
td.limit, th.limit { color: #555; font-size: 6.8pt; }
td.id, code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 6.8pt;
              white-space: nowrap; }
tr.level-definite td.level { color: #c0392b; font-weight: bold; }
tr.level-probable td.level { color: #d35400; font-weight: bold; }
tr.level-possible td.level { color: #9a7d0a; font-weight: bold; }
tr.level-met td.level { color: #c0392b; font-weight: bold; }
tr.nerve-row th { background: #f4f4f4; text-align: left; font-size: 7.8pt; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 1px 12px; margin: 3px 0; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; }
dl.grid { grid-template-columns: max-content auto max-content auto max-content auto; }
dl.grid2 { grid-template-columns: max-content auto max-content auto; }
dl.grid4 { grid-template-columns: max-content auto max-content auto max-content auto
           max-content auto; font-size: 8pt; }
ul.reasons { margin: 0; padding-left: 12px; text-align: left; }
figure { margin: 4px 0; text-align: center; page-break-inside: avoid; break-inside: avoid; }
figure img, figure svg { max-width: 100%; height: auto; }
figure.traces img, figure.traces svg { max-height: 74mm; width: auto; }
figure.summary img, figure.summary svg { max-height: 78mm; width: auto; }
figcaption { font-size: 7pt; color: #444; }
.note { font-size: 7pt; color: #555; }
.flags { color: #7e5109; font-size: 7pt; }
div.nerve-top { display: grid; grid-template-columns: 33% 67%; gap: 0 3mm; align-items: start; }
div.nerve-top h3 { margin-top: 2px; }
dl.nerve-values { font-size: 8pt; margin-top: 4px; }
ul.nerve-flags { margin: 2px 0; padding-left: 12px; }
table.verdicts td:first-child { width: 20%; }
table.verdicts td.level { width: 14%; }
table.items td:first-child { width: 46%; }
table.items td.level { width: 10%; }
table.verdicts, table.items, table.patient-verdicts { font-size: 7pt; }
table.items ul.reasons { list-style: none; padding-left: 0; }
table.patient-verdicts td.rule-set { width: 26%; }
table.patient-verdicts td.level { width: 14%; }
table.score-items td:first-child { width: 46%; }
table.score-items td:last-child { width: 34%; }
table.score-items { font-size: 7pt; }
p.score, p.immunoparesis, p.mmn-category { margin: 3px 0; }
td.site-name, th.text { white-space: nowrap; }
table.limits td:first-child { width: 38%; }
dl.wide { grid-template-columns: max-content auto; }
p.free-text { white-space: pre-wrap; margin: 2px 0; }
section.sign { break-inside: avoid; page-break-inside: avoid; margin-top: 8px; }
div.sign-grid { display: grid; grid-template-columns: 60% 40%; gap: 0 6mm; }
div.signature div { border-top: 1px solid #333; padding-top: 1px; font-size: 7.5pt;
                    margin-top: 6mm; }
div.signature div:first-child { margin-top: 3mm; }
p.blank-line { border-bottom: 1px solid #999; height: 6.5mm; margin: 0; }
section.nerve.first { page-break-before: always; break-before: page; }
section.nerve { margin-top: 6mm; }
div.nerve-core, div.keep { page-break-inside: avoid; break-inside: avoid; }
tr, li { page-break-inside: avoid; break-inside: avoid; }
tbody.nerve-group { page-break-inside: avoid; break-inside: avoid; }
footer { margin-top: 10px; border-top: 1px solid #999; font-size: 7pt; color: #333; }
footer table { font-size: 6.8pt; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"""


def css_string(text: str) -> str:
    """A CSS string literal of ``text`` (quotes, backslashes, line breaks and ``<`` escaped,
    so it cannot end the string or the ``<style>`` element)."""
    out = []
    for ch in str(text):
        if ch in '"\\' or ch in "<>&" or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def print_css(paper: str = "a4", *, running_left: str = "", running_right: str = "",
              footer_left: str = "") -> str:
    """The report's CSS for ``paper`` (``"a4"`` or ``"letter"``) with the running header and
    footer: ``@page`` margin boxes (top left/right, bottom left) and ``page x of y`` bottom
    right, which Chromium (since version 131) prints; screens ignore them.

    Raises
    ------
    ValueError
        ``paper`` is not ``"a4"`` or ``"letter"``.
    """
    check_option("paper", paper, tuple(PAPERS))
    boxes = (
        f"@top-left {{ content: {css_string(running_left)}; font-size: 7.5pt; color: #444; }}\n"
        f"  @top-right {{ content: {css_string(running_right)}; font-size: 7.5pt; color: #444; }}\n"
        f"  @bottom-left {{ content: {css_string(footer_left)}; font-size: 7pt; color: #666; }}\n"
        '  @bottom-right { content: "page " counter(page) " of " counter(pages); '
        "font-size: 7.5pt; color: #444; }"
    )
    return CSS.replace("@page { size: A4; margin: 14mm 12mm 12mm 12mm; }",
                       f"@page {{ size: {PAPERS[paper]}; margin: 14mm 12mm 12mm 12mm;\n  {boxes}\n}}")


def esc(value: Any) -> str:
    """HTML-escape ``str(value)`` (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, kind: str, *, missing: str = "\u2014", signed: bool = False) -> str:
    """Format a number with the decimals of its ``kind`` (see :data:`DECIMALS`; ``None``:
    shortest form, for distances and filter settings).

    Examples
    --------
    >>> fmt(52.345, "m_s"), fmt(float("nan"), "ms"), fmt(7.0, "pct", signed=True), fmt(2.0, "hz")
    ('52.3', '—', '+7.0', '2')
    """
    if value is None or isinstance(value, bool):
        return missing
    number = float(value)
    if not math.isfinite(number):
        return missing
    decimals = DECIMALS[kind]
    spec = f"{'+' if signed else ''}{'g' if decimals is None else f'.{decimals}f'}"
    text = format(number, spec)
    return text


class Cell:
    """One table cell: text (escaped on output), CSS classes, ``data-*`` attributes, tooltip."""

    def __init__(self, text: Any, *, classes: Iterable[str] = (), data: dict[str, Any] | None = None,
                 title: str | None = None, raw: bool = False) -> None:
        self.text = text
        self.classes = tuple(classes)
        self.data = dict(data or {})
        self.title = title
        self.raw = raw

    def render(self, tag: str = "td") -> str:
        attrs = []
        if self.classes:
            attrs.append(f'class="{esc(" ".join(self.classes))}"')
        for key, value in self.data.items():
            if value is not None:
                attrs.append(f'data-{esc(key)}="{esc(value)}"')
        if self.title:
            attrs.append(f'title="{esc(self.title)}"')
        body = str(self.text) if self.raw else esc(self.text)
        return f"<{tag}{' ' if attrs else ''}{' '.join(attrs)}>{body}</{tag}>"


def cell(value: Any, kind: str | None = None, *, measure: str | None = None,
         classes: Iterable[str] = (), signed: bool = False, missing: str = "\u2014",
         title: str | None = None) -> Cell:
    """A cell for a number (formatted by ``kind``) or a text (``kind=None``, left-aligned).

    Numbers carry ``data-measure`` and the unrounded ``data-value`` (``repr`` of the float,
    empty when missing).
    """
    if kind is None:
        return Cell("" if value is None else value, classes=("text", *classes), title=title)
    finite = value is not None and not isinstance(value, bool) and math.isfinite(float(value))
    data = {"measure": measure, "value": repr(float(value)) if finite else ""}
    return Cell(fmt(value, kind, missing=missing, signed=signed), classes=classes, data=data,
                title=title)


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell | str]], *, cls: str = "",
          row_attrs: Sequence[dict[str, Any]] | None = None, caption: str | None = None) -> str:
    """An HTML table; plain strings in ``rows`` become left-aligned text cells."""
    out = [f'<table class="{esc(cls)}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    rows = list(rows)
    text_columns = _text_columns(len(headers), rows)
    out.append("<thead><tr>" + "".join(
        f'<th class="text">{_header_text(h)}</th>' if k in text_columns else f"<th>{_header_text(h)}</th>"
        for k, h in enumerate(headers)) + "</tr></thead>")
    out.append("<tbody>")
    for i, row in enumerate(rows):
        attrs = (row_attrs[i] if row_attrs and i < len(row_attrs) else {}) or {}
        attr_text = "".join(f' {esc(k)}="{esc(v)}"' for k, v in attrs.items() if v is not None)
        cells = "".join((c if isinstance(c, Cell) else cell(c)).render() for c in row)
        out.append(f"<tr{attr_text}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _header_text(header: str) -> str:
    """A column header, escaped; a line break in it (name, then unit) becomes ``<br>``."""
    return "<br>".join(esc(part) for part in str(header).split("\n"))


def _text_columns(n: int, rows: Sequence[Sequence[Cell | str]]) -> set[int]:
    """Columns whose cells are left-aligned text (their header is aligned the same way)."""
    found = set()
    for k in range(n):
        cells = [row[k] for row in rows if k < len(row)]
        if cells and all(not isinstance(c, Cell) or "text" in c.classes for c in cells):
            found.add(k)
    return found


def definition_list(items: Iterable[tuple[str, Any]], *, cls: str = "kv") -> str:
    """A ``<dl>`` of (term, value) pairs, both escaped; each ``<dd>`` has ``data-key``."""
    parts = [f'<dl class="{esc(cls)}">']
    for term, value in items:
        key = re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
        parts.append(f'<dt>{esc(term)}</dt><dd data-key="{esc(key)}">{esc(value)}</dd>')
    parts.append("</dl>")
    return "".join(parts)


def figure_html(fig: Any, *, caption: str, image_format: str = "png", dpi: float = 110,
                gid: str | None = None, cls: str | None = None) -> str:
    """Embed a matplotlib figure: base64 PNG data URI or inline SVG, with a caption.

    Raises
    ------
    ValueError
        ``image_format`` is not ``"png"`` or ``"svg"``.
    """
    check_option("image_format", image_format, IMAGE_FORMATS)
    buf = io.BytesIO()
    if image_format == "png":
        fig.savefig(buf, format="png", dpi=dpi)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        body = f'<img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
    else:
        fig.savefig(buf, format="svg", metadata={"Date": None})
        text = buf.getvalue().decode("utf-8")
        body = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE
    ident = f' id="{esc(gid)}"' if gid else ""
    ident += f' class="{esc(cls)}"' if cls else ""
    return f"<figure{ident}>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def page(title: str, body: str, *, css: str = CSS) -> str:
    """The complete document: doctype, UTF-8, embedded CSS (no external resources)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"nerveconduct\">\n<title>{esc(title)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
