"""``nerveconduct criteria list|show``: the rule sets, their citations and thresholds."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from nerveconduct import check_option
from nerveconduct.criteria import get_rule_set, list_rule_sets, render_confidence_table
from nerveconduct.serialize import to_jsonable

from ._options import SuggestingGroup, Vocabulary, common_options
from ._output import message

__all__ = ["criteria", "rule_set_ids", "check_rule_set_ids"]

_GE, _LE = "\u2265", "\u2264"


def rule_set_ids() -> list[str]:
    """Ids of every available rule set (shipped and registered)."""
    return [info.id for info in list_rule_sets()]


def _suggest(rule_id: str, known: list[str]) -> str:
    """``" (did you mean 'x'?)"`` for a near miss of a known id, else ``""``."""
    try:
        check_option("rule set id", rule_id, known)
    except ValueError as exc:
        hint = str(exc).partition("; did you mean ")[2]
        return f" (did you mean {hint.rstrip('?')}?)" if hint else ""
    return ""


def check_rule_set_ids(ids: tuple[str, ...] | list[str], param_hint: str = "'--criteria'") -> list[str]:
    """The known ids of ``ids`` (an id in another letter case, ``EFNS-PNS-2010-MMN``, is the
    same id); an unknown one is a usage error (exit 2) listing the known ones, with a
    "did you mean" for a near miss."""
    known = rule_set_ids()
    by_case = {k.lower(): k for k in known}
    resolved = [i if i in known else by_case.get(str(i).strip().lower(), i) for i in ids]
    unknown = [i for i in resolved if i not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown rule set id(s) {', '.join(repr(u) + _suggest(u, known) for u in unknown)}; "
            f"known: {', '.join(known)} (see 'nerveconduct criteria list')", param_hint=param_hint)
    return list(dict.fromkeys(resolved))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if dataclasses.is_dataclass(value):
        names = [f.name for f in dataclasses.fields(value)]
        if names[:2] == ["distal", "proximal"]:  # SegmentPair
            nerve = f" ({value.nerve})" if getattr(value, "nerve", None) else ""
            return f"{value.distal}\u2013{value.proximal}{nerve}"
        if "min_ratio" in names:  # RatioBand
            lo = "[" if value.distal_min_inclusive else "("
            hi = "]" if value.distal_max_inclusive else ")"
            return (f"distal {lo}{value.distal_min_mv:g}, {value.distal_max_mv:g}{hi} mV: "
                    f"prox/dist ratio \u2265 {value.min_ratio:g}")
    if isinstance(value, (tuple, list)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _thresholds(obj: Any, skip: tuple[str, ...]) -> list[str]:
    """Every non-default field of a rule as ``name op value`` (min/max with ≥ > ≤ <)."""
    names = {f.name for f in dataclasses.fields(obj)}
    out = []
    for f in dataclasses.fields(obj):
        if f.name in skip or f.name.endswith("_inclusive"):
            continue
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else object()
        if value is None or value == () or (value == default and f"{f.name}_inclusive" not in names
                                            and f.name not in ("measure", "compare")):
            continue
        flag = f"{f.name}_inclusive"
        if flag in names and "_min" in f.name:
            out.append(f"{f.name} {_GE if getattr(obj, flag) else '>'} {_fmt(value)}")
        elif flag in names and "_max" in f.name:
            out.append(f"{f.name} {_LE if getattr(obj, flag) else '<'} {_fmt(value)}")
        else:
            out.append(f"{f.name} = {_fmt(value)}")
    return out


def _show_text(rs: Any) -> str:
    lines = [f"{rs.id}: {rs.title}", f"  version      {rs.version}" + (f" ({rs.year})" if rs.year else "")]
    lines.append(f"  citation     {rs.citation}")
    lines.append(f"  confidence   [{rs.confidence}] {rs.verification}")
    if rs.url:
        lines.append(f"  url          {rs.url}")
    lines.append(f"  kind         {rs.kind}; comparison {rs.comparison}")
    lines.append(f"  exclusions   entrapment segments {'excluded' if rs.exclude_entrapment else 'graded'}; "
                 f"Erb's point {'graded' if rs.include_erbs_point else 'excluded'}"
                 + (f"; nerves excluded: {', '.join(rs.excluded_nerves)}" if rs.excluded_nerves else ""))
    lines.append(f"  absent proximal response: {rs.absent_proximal}")
    words = "; ".join(f"{level} = {text}" for level, text in rs.level_labels)
    lines.append(f"  level words  ({'a patient only' if rs.level_scope == 'patient' else 'a segment, a nerve and a patient'}) "
                 f"{words}")
    if rs.item_titles:
        lines.append("  items        " + "; ".join(f"{item} = {title}" for item, title in rs.item_titles))
    if rs.not_evaluated:
        lines.append(f"  not evaluated: {'; '.join(rs.not_evaluated)}")
    if rs.notes:
        lines.append(f"  notes        {' '.join(rs.notes.split())}")
    skip = ("item", "label", "level", "confidence", "verification")
    if rs.segment_rules:
        lines.append("  segment rules:")
        for rule in rs.segment_rules:
            lines.append(f"    {rule.item} [{rule.level}] {rule.label} ({rule.confidence})")
            lines += [f"        {t}" for t in _thresholds(rule, skip)]
    if rs.nerve_items:
        lines.append("  nerve items:")
        for item in rs.nerve_items:
            lines.append(f"    {item.item} {item.label} ({item.confidence})")
            lines += [f"        {t}" for t in _thresholds(item, skip)]
    if rs.combinations:
        lines.append("  combinations (patient level):")
        for combo in rs.combinations:
            other = f" + {' or '.join(combo.other_items)} in another nerve" if combo.other_items else ""
            lines.append(f"    [{combo.level}] {combo.label}: {' or '.join(combo.items)} in "
                         f"\u2265 {combo.min_nerves} nerve(s){other} ({combo.confidence})")
    return "\n".join(lines)


@click.group("criteria", cls=SuggestingGroup)
@common_options
def criteria() -> None:
    """Rule sets: conduction block, temporal dispersion and CIDP/MMN criteria, with citations.

    \b
    Examples:
      nerveconduct criteria list
      nerveconduct criteria show efns-pns-2010-mmn
    """


@criteria.command("list")
@click.option("-f", "--format", "fmt", type=Vocabulary(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@common_options
def list_cmd(fmt: str) -> None:
    """List every rule set with its version, confidence and citation.

    \b
    Example:
      nerveconduct criteria list -f json
    """
    infos = list_rule_sets()
    if fmt == "json":
        click.echo(json.dumps([to_jsonable(i) for i in infos], indent=2, ensure_ascii=False))
        return
    width = max((len(i.id) for i in infos), default=2)
    for info in infos:
        year = f" ({info.year})" if info.year else ""
        click.echo(f"{info.id:<{width}}  [{info.confidence}] {info.title}{year}")
        click.echo(f"{'':<{width}}  {info.citation}")
    message(f"{len(infos)} rule sets; 'nerveconduct criteria show ID' for thresholds")


@criteria.command("show")
@click.argument("rule_set_id", metavar="ID")
@click.option("-f", "--format", "fmt", type=Vocabulary(["table", "json"]), default="table",
              show_default=True, help="Output format ('json': the whole table as data).")
@common_options
def show_cmd(rule_set_id: str, fmt: str) -> None:
    """Show one rule set: citation, confidence, exclusions, every threshold and combination.

    \b
    Example:
      nerveconduct criteria show efns-pns-2010-cidp
    """
    (rule_set_id,) = check_rule_set_ids([rule_set_id], param_hint="'ID'")
    rs = get_rule_set(rule_set_id)
    if fmt == "json":
        click.echo(json.dumps(to_jsonable(rs), indent=2, ensure_ascii=False))
    else:
        click.echo(_show_text(rs))
        click.echo("")
        click.echo(render_confidence_table(rs))  # every threshold's mark, with the legend
