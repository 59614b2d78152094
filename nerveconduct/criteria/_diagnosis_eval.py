"""The one evaluator of a ``[diagnosis]`` table: facts -> conditions -> rows -> a category.

Three-valued throughout: each condition is decided on the fact's range (:class:`Fact`), as
met for sure (every unknown unmet), possibly met (every unknown met) or not met. The
category is the strongest row met for sure; ``max_category`` the strongest row possibly met,
and the reasons then say "could be <category> if …" with the unknowns that decide it. Rows
with ``upgrade = true`` are decided after the others, their ``base`` fact being the category
the other rows with ``base`` true grant (possible CIDP + ≥ 2 supportive criteria -> CIDP).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._checks import check_option
from ._diagnosis import Condition, Diagnosis, DiagnosisRow
from ._diagnosis_facts import Fact, count_fact, flag, motor_nerve_facts, pattern_fact, sensory_nerves
from .verdicts import DiagnosisVerdict, PatientVerdict

__all__ = ["decide_diagnosis", "INPUT_KEYS"]

#: Keys of the inputs mapping (``Case.cidp``) a diagnosis reads.
INPUT_KEYS = ("variant", "clinical_criteria", "supportive", "sensory")
_MOTOR_RANK = {"definite": 3, "probable": 2, "possible": 1, "none": 0, "not-assessable": 0}


def _compare(value: float, op: str, target: float) -> bool:
    return {">=": value >= target, ">": value > target, "<=": value <= target, "<": value < target,
            "==": value == target}[op]


def _decide(cond: Condition, fact: Fact, target: float) -> tuple[bool, bool]:
    """(met for sure, possibly met) of ``cond`` on ``fact``'s range."""
    if cond.op == "==":
        return fact.lo == fact.hi == target, fact.lo <= target <= fact.hi
    ends = (_compare(fact.lo, cond.op, target), _compare(fact.hi, cond.op, target))
    return all(ends), any(ends)


def _names(names: Sequence[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def _phrase(cond: Condition, fact: Fact, met: bool) -> str:
    """How a condition reads in a reason, with the nerves carrying it."""
    if cond.fact in ("clinical_criteria", "pattern", "supportive_met"):
        state = "met" if fact.lo else ("not met" if not fact.hi else "unknown")
        return f"{fact.text}: {state}" if cond.value else f"{fact.text}: {state} (needed: not met)"
    if cond.fact == "motor":
        return fact.text + ("" if met else f" (needed: {cond.op} {cond.value})")
    if cond.fact == "base":
        return fact.text + ("" if met else f" (needed: {cond.op} {cond.value})")
    n = int(fact.lo)
    text = (f"{fact.text} in {n} nerve{'' if n == 1 else 's'}{_names(fact.met)}" if fact.unit == "nerve" else
            f"{fact.text}: {n}{_names(fact.met)}")
    if math.isinf(fact.hi):
        text += "; no sensory nerve studied"
    if fact.unknown:
        text += f"; unknown {'in ' if fact.unit == 'nerve' else ''}{', '.join(fact.unknown)}"
    return text + ("" if met else f" ({cond.op} {cond.value} needed)")


def _alternative(cond: Condition, fact: Fact, state: tuple[bool, bool]) -> str:
    """One alternative of a condition group, with its state (met / unknown / not met)."""
    text = _phrase(cond, fact, state[0])
    if cond.fact in ("clinical_criteria", "pattern", "supportive_met"):
        return text  # worded with its state already
    if state[0]:
        return text + ": met"
    return text + (": unknown" if state[1] else "")  # not met: "(... needed)" says so


def _item_span(ids: Sequence[str]) -> str:
    """A rule set's motor item ids as a short span: ``(a)–(g)``, ``I-A–I-G, II``."""
    def shown(item: str) -> str:
        return f"({item})" if len(item) == 1 else item

    runs: list[list[str]] = []
    for item in ids:
        last = runs[-1][-1] if runs else ""
        if last and item[:-1] == last[:-1] and len(item) == len(last) and ord(item[-1]) == ord(last[-1]) + 1:
            runs[-1].append(item)
        else:
            runs.append([item])
    return ", ".join(f"{shown(r[0])}–{shown(r[-1])}" if len(r) > 2 else ", ".join(map(shown, r)) for r in runs)


def motor_item_span(rs: Any) -> str:
    """The motor items of rule set ``rs`` (its ``item_titles`` order, else sorted ids)."""
    ids = [i for i, _ in getattr(rs, "item_titles", ())] or sorted(
        {r.item for r in (*getattr(rs, "segment_rules", ()), *getattr(rs, "nerve_items", ()))})
    return _item_span(ids)


class _Facts:
    """Every fact of one patient, computed once."""

    def __init__(self, table: Diagnosis, motor: PatientVerdict, motor_high: str, nerve_results: Sequence[Any],
                 sensory: Iterable[Any], inputs: Mapping[str, Any], motor_items: str = "") -> None:
        self.table, self.motor = table, motor
        self.nerves = sensory_nerves(table, sensory, inputs.get("sensory"))
        upper, normal, abnormal = motor_nerve_facts(motor, nerve_results)
        clinical = flag("clinical_criteria", inputs.get("clinical_criteria"))
        self.facts: dict[tuple[str, str | None], Fact] = {
            ("clinical_criteria", None): Fact(float(clinical is True), float(clinical is not False),
                                              text="clinical criteria"),
            ("motor", None): Fact(_MOTOR_RANK[motor.level], _MOTOR_RANK.get(motor_high, 0), motor.nerves,
                                  text=f"motor conduction criteria {motor_items}: {motor.label}"
                                       f"{_names(motor.nerves)}" if motor_items else
                                       f"motor conduction: {motor.label}{_names(motor.nerves)}"),
            ("motor_upper_limb_nerves", None): upper,
            ("motor_normal_nerves", None): normal,
            ("motor_abnormal_nerves", None): abnormal,
        }
        for item in table.sensory_items:
            self.facts[("sensory", item.item)] = count_fact(self.nerves, item.item, True, item.label)
            self.facts[("sensory_normal", item.item)] = count_fact(self.nerves, item.item, False, item.normal_label)
        for p in table.patterns:
            self.facts[("pattern", p.id)] = pattern_fact(self.nerves, p.item, p.abnormal_nerves, p.normal_nerves,
                                                         p.label)
        self.supportive, self.notes = self._supportive(inputs.get("supportive") or {})
        met = [k for k, v in self.supportive.items() if v]
        unknown = [k for k, v in self.supportive.items() if v is None]
        label = {s.key: s.label for s in table.supportive}
        self.facts[("supportive", None)] = Fact(len(met), len(met) + len(unknown), tuple(label[k] for k in met),
                                                tuple(label[k] for k in unknown), "supportive criteria met",
                                                "criterion")
        for s in table.supportive:
            v = self.supportive[s.key]
            self.facts[("supportive_met", s.key)] = Fact(float(v is True), float(v is not False), text=s.label)

    def _supportive(self, given: Mapping[str, Any]) -> tuple[dict[str, bool | None], list[str]]:
        keys = [s.key for s in self.table.supportive]
        for key in given:
            check_option("supportive criterion", key, tuple(keys))
        out, notes = {}, []
        for s in self.table.supportive:
            value = flag(f"supportive[{s.key!r}]", given.get(s.key))
            if s.when:
                lo, hi = self.when(s.when)
                computed = True if lo else (False if not hi else None)
                if computed is not None:
                    notes.append(f"supportive {s.label}: {'met' if computed else 'not met'} from the sensory "
                                 "conduction: " + "; ".join(self.explain(s.when)))
                if computed is not None and value is not None and computed != value:
                    notes.append(f"supportive {s.label}: {'met' if computed else 'not met'} from the sensory "
                                 f"conduction, the sheet says {'met' if value else 'not met'}; the conduction is used")
                elif computed is None and value is not None:
                    notes.append(f"supportive {s.label}: {'met' if value else 'not met'} as given in the sheet "
                                 "(not decided by the sensory conduction)")
                value = value if computed is None else computed
            out[s.key] = value
        return out, notes

    def fact(self, cond: Condition, base: Fact | None = None) -> tuple[Fact, float]:
        if cond.fact == "base":
            return base, self.table.rank(cond.value)
        fact = self.facts[(cond.fact, cond.arg)]
        if cond.fact == "motor":
            return fact, _MOTOR_RANK[cond.value]
        return fact, float(cond.value)

    def when(self, groups: Sequence[Sequence[Condition]], base: Fact | None = None) -> tuple[bool, bool]:
        lo = hi = True
        for group in groups:
            decided = [_decide(c, *self.fact(c, base)) for c in group]
            lo &= any(d[0] for d in decided)
            hi &= any(d[1] for d in decided)
        return lo, hi

    def explain(self, groups: Sequence[Sequence[Condition]], base: Fact | None = None, *,
                only: str | None = None) -> list[str]:
        """Each condition group worded; ``only="unmet"`` / ``"unknown"`` keeps those groups."""
        out = []
        for group in groups:
            decided = [(c, *self.fact(c, base)) for c in group]
            states = [_decide(c, f, t) for c, f, t in decided]
            lo, hi = any(s[0] for s in states), any(s[1] for s in states)
            if only == "unmet" and lo or only == "unknown" and (lo or not hi):
                continue
            if len(group) == 1:
                out.append(_phrase(group[0], decided[0][1], states[0][0]))
            else:  # alternatives: each says whether it is met, so the group reads right
                out.append("either " + ", or ".join(_alternative(c, f, st) for (c, f, _), st in zip(decided, states)))
        return out

    def contrary(self, rows: Sequence[DiagnosisRow]) -> list[str]:
        """Evidence of the other modality against a row that asks it normal: sensory nerves
        meeting an item a ``sensory_normal`` condition wants unmet, motor nerves outside normal
        limits and the motor criteria met against ``motor_normal_nerves`` (named, not graded:
        the rows decide the category)."""
        out: list[str] = []
        for cond in (c for row in rows for group in row.when for c in group):
            if cond.fact == "sensory_normal":
                f = self.facts[("sensory", cond.arg)]
                phrase = _phrase(cond, f, True) if f.lo else ""
            elif cond.fact == "motor_normal_nerves":
                f = self.facts[("motor_abnormal_nerves", None)]
                phrase = _phrase(cond, f, True) if f.lo else ""
                motor = self.facts[("motor", None)]
                if motor.lo >= _MOTOR_RANK["possible"]:
                    phrase += ("; " if phrase else "") + motor.text
            else:
                continue
            if phrase and phrase not in out:
                out.append(phrase)
        return out


def _variant(table: Diagnosis, value: Any) -> str | None:
    if value is None:
        return None
    return check_option("variant", value, table.variants) if table.variants else value


def _best(table: Diagnosis, rows: Sequence[tuple[DiagnosisRow, bool]]) -> DiagnosisRow | None:
    met = [r for r, ok in rows if ok]
    return max(met, key=lambda r: table.rank(r.category), default=None)


def decide_diagnosis(rs: Any, motor: PatientVerdict, motor_high: str, nerve_results: Sequence[Any],
                     sensory: Iterable[Any], inputs: Mapping[str, Any]) -> DiagnosisVerdict:
    """The diagnosis of one patient by ``rs.diagnosis`` (see the module notes)."""
    table: Diagnosis = rs.diagnosis
    bad = sorted(set(inputs) - set(INPUT_KEYS))
    if bad:
        raise ValueError(f"unknown diagnosis input {bad[0]!r}; allowed: {list(INPUT_KEYS)}")
    variant = _variant(table, inputs.get("variant"))
    motor_items = motor_item_span(rs)
    facts = _Facts(table, motor, motor_high, nerve_results, sensory, inputs, motor_items)

    def applies(row: DiagnosisRow) -> tuple[bool, bool]:
        """(for sure, possibly): the row is for the variant given (any variant when unknown)."""
        if not row.variants:
            return True, True
        return variant in row.variants, variant is None or variant in row.variants

    def grade(upgrade_base: Fact | None, which: bool) -> list[tuple[DiagnosisRow, tuple[bool, bool]]]:
        out = []
        for row in table.rows:
            if row.upgrade == which:
                (v_lo, v_hi), (lo, hi) = applies(row), facts.when(row.when, upgrade_base)
                out.append((row, (v_lo and lo, v_hi and hi)))
        return out

    base_rows = grade(None, False)
    base_lo = _best(table, [(r, s[0] and r.base) for r, s in base_rows])
    base_hi = _best(table, [(r, s[1] and r.base) for r, s in base_rows])
    base_text = f"by clinical and electrodiagnostic criteria: {base_lo.category if base_lo else table.none_label}"
    if base_lo:  # the row it rests on, with the motor criteria named
        base_text += f" ({'; '.join(facts.explain(base_lo.when))})"
    base = Fact(table.rank(base_lo.category) if base_lo else 0, table.rank(base_hi.category) if base_hi else 0,
                text=base_text)
    all_rows = base_rows + grade(base, True)
    low = _best(table, [(r, s[0]) for r, s in all_rows])
    high = _best(table, [(r, s[1]) for r, s in all_rows])
    category = low.category if low else table.none_label
    max_category = high.category if high and table.rank(high.category) > table.rank(category) else category
    label = f"{category} ({variant})" if low and variant else category
    head = f"{rs.short_name}: {label} [{table.title}]"
    if low:
        head += ": " + "; ".join(facts.explain(low.when, base))
        contrary = facts.contrary([low, *([base_lo] if low.upgrade and base_lo else [])])
        if contrary:
            hint = f"{variant}-predominant"
            head += ("; but " + "; ".join(contrary)
                     + (f": variant {hint} rather than {variant}?" if hint in table.variants else "")
                     + " (named only: the rows do not test this)")
    reasons = [head]
    if not low:
        for row, _ in base_rows:
            if variant is None or not row.variants or variant in row.variants:
                unmet = facts.explain(row.when, base, only="unmet")
                if variant is None and row.variants:
                    unmet.insert(0, f"clinical variant not given (this row: {', '.join(row.variants)})")
                reasons.append(f"{row.category} ({row.label}) not met: " + "; ".join(unmet))
    if high and max_category != category:
        row_label = f"{high.category} ({variant})" if variant else high.category
        unknown = facts.explain(high.when, base, only="unknown")
        if variant is None and high.variants:
            unknown.insert(0, f"clinical variant unknown (this row: {', '.join(high.variants)})")
        if high.upgrade and base_hi is not None and base_lo is not base_hi:
            unknown.extend(facts.explain(base_hi.when, only="unknown"))
        reasons.append(f"could be {row_label} if the unknown inputs were met: " + "; ".join(unknown))
    reasons.extend(sn.reason(table) for sn in facts.nerves)
    reasons.extend(facts.notes)
    supp = facts.facts[("supportive", None)]
    reasons.append(f"supportive criteria met: {int(supp.lo)}{_names(supp.met)}"
                   + (f"; unknown: {', '.join(supp.unknown)}" if supp.unknown else ""))
    reasons.extend(f"{rs.short_name}: not evaluated here: {t}" for t in table.not_evaluated)
    rows_met = tuple(f"{r.category}: {r.label}" for r, s in all_rows if s[0])
    sensory = {sn.label: dict(sn.items) for sn in facts.nerves}
    return DiagnosisVerdict(rs.id, category, max_category, variant, label, tuple(reasons), rows_met, sensory,
                            dict(facts.supportive), motor)
