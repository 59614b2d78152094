"""Report sections for the case context: CIDP-MAG score, MMN inputs, paraprotein.

Each section is omitted (empty string) when the case gives nothing for it.
"""

from __future__ import annotations

from typing import Any

from .html import Cell, cell, definition_list, esc, table

__all__ = ["CIDP_MAG_SOURCE", "cidp_mag_html", "mmn_html", "paraprotein_html", "value_text"]


def value_text(value: Any) -> str:
    """Readable text of an input value: yes / no / unknown for booleans and None."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    return str(value)


def _label(key: str) -> str:
    return str(key).replace("_", " ")


#: Where the CIDP-MAG score comes from (CRITERIA.md, confidence [S]).
CIDP_MAG_SOURCE = ("CIDP-MAG score: Doneddu et al., as reproduced in the project's source "
                   "document 000 (CRITERIA.md, confidence [S]). +1…+5 anti-MAG pattern, "
                   "−7…−1 CIDP pattern, 0 indeterminate.")


def _error_note(computed: Any) -> str:
    return f'<p class="note error">{esc(computed.error)}</p>'


def cidp_mag_html(clinical: dict[str, Any], computed: Any | None) -> str:
    """CIDP-MAG section: points (or the range when items are unknown), interpretation, items.

    ``computed`` is :func:`nerveconduct.report.context.cidp_mag`'s result (``None``: omitted).
    """
    if computed is None:
        return ""
    parts = ['<section class="cidp-mag"><h2>CIDP-MAG score</h2>']
    if computed.error:
        parts.append(_error_note(computed))
        parts.append(definition_list([(_label(k), value_text(v)) for k, v in clinical.items()]))
        parts.append("</section>")
        return "\n".join(parts)
    score = computed.value
    lo, hi, points = score.min_points, score.max_points, score.points
    total = f"{points:+d}" if points is not None else f"{lo:+d} to {hi:+d} (some items unknown)"
    parts.append(f'<p class="score" data-points="{esc("" if points is None else points)}" '
                 f'data-min-points="{lo}" data-max-points="{hi}">'
                 f"<strong>Score: {esc(total)}</strong> — {esc(score.interpretation)}</p>")
    rows, attrs = [], []
    for item in score.items:
        rows.append([cell(item.label), cell(value_text(item.present)),
                     Cell(f"{item.weight:+d}", data={"weight": item.weight}),
                     Cell("?" if item.points is None else f"{item.points:+d}",
                          data={"points": "" if item.points is None else item.points}),
                     cell(item.evidence)])
        attrs.append({"class": "score-item", "data-item": item.key,
                      "data-present": value_text(item.present)})
    parts.append(table(["Item", "Present", "Weight", "Points", "Evidence"], rows,
                       cls="score-items", row_attrs=attrs))
    parts.append(f'<p class="note citation">{esc(CIDP_MAG_SOURCE)} Conduction block per '
                 f"{esc(score.cb_rule_set)}.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def mmn_html(mmn_inputs: dict[str, Any], computed: Any | None) -> str:
    """MMN inputs given with the case and the EFNS/PNS 2010 MMN category computed from them."""
    if not mmn_inputs:
        return ""
    parts = ['<section class="mmn"><h2>MMN category (EFNS/PNS 2010)</h2>',
             definition_list([(_label(k), value_text(v)) for k, v in mmn_inputs.items()])]
    if computed is not None and computed.error:
        parts.append(_error_note(computed))
    elif computed is not None:
        cat = computed.value
        text = cat.category if cat.max_category == cat.category else \
            f"{cat.category} (could be {cat.max_category} if the unknown inputs were met)"
        parts.append(f'<p class="mmn-category" data-category="{esc(cat.category)}" '
                     f'data-max-category="{esc(cat.max_category)}"><strong>MMN category: '
                     f"{esc(text)}</strong></p>")
        parts.append(_reason_list(cat.reasons))
    parts.append("</section>")
    return "\n".join(parts)


def _reason_list(reasons: Any) -> str:
    if not reasons:
        return ""
    return '<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"


def paraprotein_html(paraprotein: dict[str, Any], computed: Any | None) -> str:
    """Paraprotein context as given, and the immunoparesis grade when it could be computed."""
    if not paraprotein:
        return ""
    parts = ['<section class="paraprotein"><h2>Paraprotein context</h2>',
             definition_list([(_label(k), value_text(v)) for k, v in paraprotein.items()])]
    if computed is None:
        parts.append('<p class="note">Immunoparesis grade: needs IgG, IgA and IgM (those not of '
                     "the M-protein's type) with their lower limits of normal.</p>")
    elif computed.error:
        parts.append(_error_note(computed))
    else:
        grade = computed.value
        parts.append(f'<p class="immunoparesis" data-grade="{esc(grade.grade)}">'
                     f"<strong>Immunoparesis: {esc(grade.grade)}</strong></p>")
        parts.append(_reason_list(grade.reasons))
    parts.append("</section>")
    return "\n".join(parts)
