"""Report sections for the case context: CIDP-MAG score, MMN inputs, paraprotein.

Each section is omitted (empty string) when the case gives nothing for it.
"""

from __future__ import annotations

from typing import Any, Callable

from .html import Cell, cell, definition_list, esc, table

__all__ = ["CIDP_MAG_SOURCE", "KEY_LABELS", "label", "cidp_mag_html", "mmn_html", "cidp_html",
           "paraprotein_html", "paraprotein_items", "value_text"]


#: Readable labels of the sheet's keys (clinical items, MMN inputs, paraprotein context).
KEY_LABELS = {
    "length_dependent_sensory": "Length-dependent sensory symptoms",
    "ataxia": "Ataxia",
    "tremor": "Tremor",
    "relapsing_or_acute_onset": "Relapsing or acute onset",
    "proximal_weakness": "Proximal weakness",
    "variant": "Variant",
    "clinical_criteria": "Clinical criteria met",
    "core_clinical": "Core clinical criteria met",
    "exclusions_absent": "Exclusion criteria absent",
    "sensory_normal": "Sensory conduction normal",
    "supportive": "Supportive criteria",
    "one_nerve_only": "Conduction block in one nerve only",
    "anti_gm1": "anti-GM1 IgM antibodies",
    "csf_protein_below_1g_l": "CSF protein < 1 g/L",
    "mri": "MRI supportive",
    "ivig_response": "Response to IVIg",
    "m_protein": "M-protein",
    "m_protein_type": "M-protein type",
    "anti_mag_titre": "Anti-MAG titre",
    "anti_mag_unit": "Anti-MAG unit",
    "igg": "IgG", "iga": "IgA", "igm": "IgM",
    "igg_lln": "IgG lower limit of normal", "iga_lln": "IgA lower limit of normal",
    "igm_lln": "IgM lower limit of normal",
    "igg_unit": "IgG unit", "iga_unit": "IgA unit", "igm_unit": "IgM unit",
}
_WORDS = {"ig": "Ig", "igg": "IgG", "iga": "IgA", "igm": "IgM", "mag": "MAG", "csf": "CSF",
          "gm1": "GM1", "lln": "LLN", "uln": "ULN", "mri": "MRI", "ivig": "IVIg", "cb": "CB"}


def label(key: Any) -> str:
    """Readable label of a sheet key: :data:`KEY_LABELS`, else the words of the key with the
    first capitalised and acronyms (IgG, MAG, CSF, …) spelled as such."""
    text = str(key)
    if text in KEY_LABELS:
        return KEY_LABELS[text]
    words = [_WORDS.get(w.lower(), w) for w in text.replace("_", " ").split()]
    if words and words[0] == words[0].lower():
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) or text


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
        return "; ".join(f"{label(k)}: {value_text(v)}" for k, v in value.items())
    return str(value)


_label = label


#: Where the CIDP-MAG score comes from (``docs/criteria.md``: the derivation paper was not
#: found in a public copy; the table is taken from a secondary source quoting it).
CIDP_MAG_SOURCE = ("CIDP-MAG score: Doneddu et al. (items and points from a secondary source "
                   "quoting the derivation paper; see the criteria documentation). +1…+5 "
                   "anti-MAG pattern, −7…−1 CIDP pattern, 0 indeterminate.")


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


def _category_section(inputs: dict[str, Any], computed: Any | None, section_cls: str,
                      heading: str, category_cls: str, lead: str,
                      text_of: Callable[[Any], str]) -> str:
    """A section of the inputs given with the case and the category computed from them.

    ``computed.value`` has ``category``, ``max_category`` (the category the unknown inputs
    could still reach) and ``reasons``; ``text_of(computed.value)`` is the category as shown
    after ``lead``.
    """
    parts = [f'<section class="{section_cls}"><h2>{heading}</h2>',
             definition_list([(_label(k), value_text(v)) for k, v in inputs.items()],
                             cls="kv grid2")]
    if computed is not None and computed.error:
        parts.append(_error_note(computed))
    elif computed is not None:
        v = computed.value
        parts.append(f'<p class="{category_cls}" data-category="{esc(v.category)}" '
                     f'data-max-category="{esc(v.max_category)}"><strong>{lead}: '
                     f"{esc(text_of(v))}</strong></p>")
        parts.append(_reason_list(v.reasons))
    parts.append("</section>")
    return "\n".join(parts)


def mmn_html(mmn_inputs: dict[str, Any], computed: Any | None) -> str:
    """MMN inputs given with the case and the EFNS/PNS 2010 MMN category computed from them."""
    if not mmn_inputs:
        return ""

    def text(c: Any) -> str:
        return c.category if c.max_category == c.category else \
            f"{c.category} (could be {c.max_category} if the unknown inputs were met)"

    return _category_section(mmn_inputs, computed, "mmn", "MMN category (EFNS/PNS 2010)",
                             "mmn-category", "MMN category", text)


def cidp_html(cidp_inputs: dict[str, Any], computed: Any | None) -> str:
    """CIDP inputs given with the case (``Case.cidp``) and the diagnosis computed from them
    (:func:`nerveconduct.report.context.cidp`: EAN/PNS 2021 CIDP)."""
    if not cidp_inputs:
        return ""

    def text(d: Any) -> str:
        return d.label if d.max_category == d.category else \
            f"{d.label} (up to {d.max_category} with the unknown inputs)"

    return _category_section(cidp_inputs, computed, "cidp-diagnosis",
                             "CIDP diagnosis (EAN/PNS 2021)", "cidp-category", "Diagnosis", text)


def _reason_list(reasons: Any) -> str:
    if not reasons:
        return ""
    return '<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"


def paraprotein_items(paraprotein: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs of the paraprotein context: each immunoglobulin on one line with its
    unit and lower limit (``"6.1 g/L (LLN 7 g/L)"``), the anti-MAG titre with its unit."""
    items, used = [], set()
    for key, value in paraprotein.items():
        if key in used:
            continue
        if key in ("igg", "iga", "igm") or (key.endswith(("_lln", "_unit")) and key[:3] in ("igg", "iga", "igm")):
            ig = key[:3]
            if ig in used:
                continue
            used.update({ig, f"{ig}_lln", f"{ig}_unit"})
            unit = paraprotein.get(f"{ig}_unit")
            suffix = f" {unit}" if unit else ""
            text = (value_text(paraprotein[ig]) + suffix) if ig in paraprotein else "not given"
            if paraprotein.get(f"{ig}_lln") is not None:
                text += f" (LLN {value_text(paraprotein[f'{ig}_lln'])}{suffix})"
            items.append((label(ig), text))
        elif key == "anti_mag_unit" and "anti_mag_titre" in paraprotein:
            continue
        elif key == "anti_mag_titre":
            unit = paraprotein.get("anti_mag_unit")
            used.add("anti_mag_unit")
            items.append((label(key), value_text(value) + (f" {unit}" if unit else "")))
        else:
            items.append((label(key), value_text(value)))
    return items


def paraprotein_html(paraprotein: dict[str, Any], computed: Any | None) -> str:
    """Paraprotein context as given, and the immunoparesis grade when it could be computed."""
    if not paraprotein:
        return ""
    parts = ['<section class="paraprotein"><h2>Paraprotein context</h2>',
             definition_list(paraprotein_items(paraprotein), cls="kv grid")]
    if computed is None:
        parts.append('<p class="note">Immunoparesis grade: needs IgG, IgA and IgM (those not of '
                     "the M-protein's type) with their lower limits of normal.</p>")
    elif computed.error:
        parts.append(_error_note(computed))
    else:
        grade = computed.value
        parts.append(f'<p class="immunoparesis" data-grade="{esc(grade.grade)}">'
                     f"<strong>Immunoparesis: {esc(grade.grade)}</strong>"
                     + "".join(f" <span class=\"reason\">\u2014 {esc(r)}</span>" for r in grade.reasons)
                     + "</p>")
    parts.append("</section>")
    return "\n".join(parts)
