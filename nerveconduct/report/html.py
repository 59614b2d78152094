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
DECIMALS = {"ms": 2, "mv": 2, "mv_ms": 1, "mm": None, "m_s": 1, "pct": 1, "index": 3, "c": 1, "hz": None}

CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #111;
       max-width: 190mm; margin: 0 auto; padding: 8px; }
h1 { font-size: 16pt; margin: 0 0 4px 0; }
h2 { font-size: 13pt; margin: 14px 0 4px 0; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 10px 0 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px 0; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: right; vertical-align: top; }
th { background: #eee; }
td.text, th.text { text-align: left; }
td.abn { color: #b03a2e; font-weight: bold; }
td.absent { color: #7f8c8d; font-style: italic; }
tr.level-definite td.level { color: #c0392b; font-weight: bold; }
tr.level-probable td.level { color: #d35400; font-weight: bold; }
tr.level-possible td.level { color: #9a7d0a; font-weight: bold; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 1px 12px; margin: 4px 0; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; }
ul.reasons { margin: 0; padding-left: 14px; text-align: left; }
figure { margin: 6px 0; text-align: center; page-break-inside: avoid; break-inside: avoid; }
figure img, figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 8pt; color: #444; }
.note { font-size: 8pt; color: #555; }
.flags { color: #7e5109; font-size: 8pt; }
section.nerve { page-break-before: always; break-before: page; }
section.summary-plots { page-break-before: always; break-before: page; }
tr { page-break-inside: avoid; break-inside: avoid; }
footer { margin-top: 16px; border-top: 1px solid #999; font-size: 7.5pt; color: #333; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"""


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
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead>")
    out.append("<tbody>")
    for i, row in enumerate(rows):
        attrs = (row_attrs[i] if row_attrs and i < len(row_attrs) else {}) or {}
        attr_text = "".join(f' {esc(k)}="{esc(v)}"' for k, v in attrs.items() if v is not None)
        cells = "".join((c if isinstance(c, Cell) else cell(c)).render() for c in row)
        out.append(f"<tr{attr_text}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def definition_list(items: Iterable[tuple[str, Any]], *, cls: str = "kv") -> str:
    """A ``<dl>`` of (term, value) pairs, both escaped; each ``<dd>`` has ``data-key``."""
    parts = [f'<dl class="{esc(cls)}">']
    for term, value in items:
        key = re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
        parts.append(f'<dt>{esc(term)}</dt><dd data-key="{esc(key)}">{esc(value)}</dd>')
    parts.append("</dl>")
    return "".join(parts)


def figure_html(fig: Any, *, caption: str, image_format: str = "png", dpi: float = 110,
                gid: str | None = None) -> str:
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
    return f"<figure{ident}>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def page(title: str, body: str) -> str:
    """The complete document: doctype, UTF-8, embedded CSS (no external resources)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"nerveconduct\">\n<title>{esc(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
