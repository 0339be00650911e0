"""Load and check the study definition (indicators.yaml) into typed objects.

Every mistake becomes an :class:`~aimak.errors.Issue`; :func:`load_definition` raises one
:class:`~aimak.errors.DefinitionError` listing all of them, so a person fixes everything in one go.
"""

from __future__ import annotations

import re
from pathlib import Path

from aimak.errors import DefinitionError
from forms.checks import CHOICE_CODE_RE, Checker
from forms.definition import (
    EXCLUSIONS,
    PERSONAL,
    AgeGroup,
    AppliesTo,
    Choice,
    Definition,
    GovernanceItem,
    Importance,
    Indicator,
    Method,
    ProfileQuestion,
    Quality,
    SamplePlanSettings,
    SatisfactionItem,
    Scale,
    Service,
    Study,
    Team,
    Text,
    Unit,
)
from forms.texts import REQUIRED_SCALES, REQUIRED_TEXTS
from forms.yamlsource import LineList, LineMap, load_yaml

CORE_SERVICES = ("WAT", "SAN", "SWM", "LGT", "RD", "PUB", "KG", "CUL", "SPO", "CEM", "PAS", "SOC")
OPTIONAL_SERVICES = ("ADM", "IRR")
TOP_LEVEL = {
    "study", "method", "sample_plan", "sexes", "age_groups", "scales", "units", "services",
    "profile_questions", "governance_items", "importance", "texts", "quality", "personal",
}
ANSWERS = ("integer", "decimal", "yes_no")
QUESTION_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")  # an XML name, as in an XLSForm
DIRECTIONS = ("higher", "lower")


def load_definition(path: Path) -> Definition:
    """Read and check ``path``; raise DefinitionError listing every mistake."""
    definition, issues = read_definition(path)
    if issues:
        raise DefinitionError(issues)
    assert definition is not None
    return definition


def read_definition(path: Path) -> tuple[Definition | None, list]:
    """Read ``path``; return the definition (None when it has mistakes) and all mistakes."""
    document, issues = load_yaml(path)
    check = Checker(str(path))
    check.issues.extend(issues)
    if document is None:
        return None, check.issues
    if not isinstance(document, LineMap):
        check.add(1, "file", type(document).__name__, "the file must be a YAML mapping",
                  "start the file with 'study:' and the other sections")
        return None, check.issues
    check.unknown_keys(document, "", TOP_LEVEL)
    reader = _Reader(check, document)
    definition = reader.read()
    return (definition if not check.issues else None), check.issues


class _Reader:
    def __init__(self, check: Checker, doc: LineMap):
        self.c = check
        self.doc = doc
        self.codes: dict[str, int] = {}  # every field code -> its line, for uniqueness

    def read(self) -> Definition | None:
        study = self.study()
        method = self.method()
        sexes = self.sexes()
        age_groups = self.age_groups()
        scales = self.scales()
        units = self.units()
        services = self.services(units)
        profile = self.profile_questions()
        governance = self.governance(scales)
        importance = self.importance()
        texts = self.texts()
        plan = self.sample_plan()
        quality = self.quality()
        personal = self.personal()
        if method and scales.get("satisfaction"):
            for code in method.top_box:
                if code not in scales["satisfaction"].codes:
                    self.c.add(self.doc["method"].line_of("top_box"), "method.top_box", code,
                               "is not a code of the satisfaction scale",
                               f"use codes of scales.satisfaction: {', '.join(scales['satisfaction'].codes)}")
        if self.c.issues:
            return None
        return Definition(study, method, plan, sexes, age_groups, scales, units, services, profile,
                          governance, importance, texts, quality, personal)

    # --- sections ------------------------------------------------------------------------

    def study(self) -> Study | None:
        node = self.c.mapping(self.doc, "study", "")
        if node is None:
            return None
        self.c.unknown_keys(node, "study", {"code", "round", "title", "default_language",
                                            "fieldwork_start", "fieldwork_end"})
        code = self.c.code(node, "code", "study")
        rnd = self.c.code(node, "round", "study")
        title = self.c.text(node, "title", "study")
        lang = self.c.choice(node, "default_language", "study", ("ru", "ky", "en"),
                             required=False, default="ru")
        start = self._date(node, "fieldwork_start", "study")
        end = self._date(node, "fieldwork_end", "study")
        if start and end and end < start:
            self.c.add(node.line_of("fieldwork_end"), "study.fieldwork_end", end,
                       f"is before fieldwork_start ({start})", "give the last day of fieldwork")
        if None in (code, rnd, title, lang):
            return None
        return Study(code, rnd, title, lang, start, end)

    def _date(self, node: LineMap, key: str, path: str) -> str | None:
        """An optional ISO date (YAML reads 2026-11-09 as a date; a quoted one is text)."""
        import datetime as dt

        value = node.get(key)
        if value is None:
            return None
        try:
            return (value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))).isoformat()
        except ValueError:
            self.c.add(node.line_of(key), f"{path}.{key}", value, "is not a date",
                       f"write it as YYYY-MM-DD, e.g. '{key}: 2026-11-09'")
            return None

    def quality(self) -> Quality:
        """The optional ``quality:`` section; every setting has a default."""
        node = self.c.mapping(self.doc, "quality", "", required=False)
        default = Quality()
        if node is None:
            return default
        p = "quality"
        self.c.unknown_keys(node, p, {"exclude", "min_seconds_per_answer", "straight_lining_share",
                                      "straight_lining_min_blocks", "gps_max_km",
                                      "gps_min_interviews", "enumerator_outlier_z",
                                      "enumerator_min_interviews", "fg_score_gap", "time_zone"})
        exclude = dict(default.exclude)
        rules = self.c.mapping(node, "exclude", p, required=False)
        if rules is not None:
            self.c.unknown_keys(rules, f"{p}.exclude", set(EXCLUSIONS))
            for rule in EXCLUSIONS:
                exclude[rule] = self.c.boolean(rules, rule, f"{p}.exclude", True)

        def num(key: str, **kw) -> float:
            value = self.c.number(node, key, p, required=False, default=getattr(default, key), **kw)
            return getattr(default, key) if value is None else value

        zone = self.c.string(node, "time_zone", p, required=False, default=default.time_zone)
        if zone and not _is_time_zone(zone):
            self.c.add(node.line_of("time_zone"), f"{p}.time_zone", zone,
                       "is not a time zone name", "write an IANA name, e.g. 'Asia/Bishkek'")
            zone = None
        return Quality(
            exclude=exclude,
            min_seconds_per_answer=num("min_seconds_per_answer", low=0),
            straight_lining_share=num("straight_lining_share", low=0, high=1),
            straight_lining_min_blocks=int(num("straight_lining_min_blocks", low=1, integer=True)),
            gps_max_km=num("gps_max_km", positive=True),
            gps_min_interviews=int(num("gps_min_interviews", low=1, integer=True)),
            enumerator_outlier_z=num("enumerator_outlier_z", positive=True),
            enumerator_min_interviews=int(num("enumerator_min_interviews", low=1, integer=True)),
            fg_score_gap=num("fg_score_gap", low=0, high=100),
            time_zone=zone or default.time_zone)

    def personal(self) -> dict[str, tuple[str, ...]]:
        """The optional ``personal:`` section: form id -> the questions holding personal data,
        replacing that form's default list (forms.definition.PERSONAL)."""
        personal = dict(PERSONAL)
        node = self.c.mapping(self.doc, "personal", "", required=False)
        for form in node or ():
            field = f"personal.{form}"
            names = self.c.sequence(node, form, "personal")
            if names is None:
                continue
            kept = []
            for index, name in enumerate(names):
                if not isinstance(name, str) or not QUESTION_NAME_RE.match(name):
                    self.c.add(names.line_of(index), f"{field}[{index + 1}]", name,
                               "is not a question name",
                               "write the question's name as in the form, e.g. 'fg_moderator'")
                    continue
                kept.append(name)
            personal[str(form)] = tuple(kept)
        return personal

    def method(self) -> Method | None:
        node = self.c.mapping(self.doc, "method", "")
        if node is None:
            return None
        p = "method"
        self.c.unknown_keys(node, p, {
            "gap_threshold", "quadrant_cut", "suppress_below", "flag_below",
            "min_effectiveness_coverage", "headline_satisfaction", "top_box", "confidence_level",
            "weight_trim", "villages"})
        gap = self.c.number(node, "gap_threshold", p, low=0, high=100)
        cut = self.c.number(node, "quadrant_cut", p, low=0, high=100)
        suppress = self.c.number(node, "suppress_below", p, low=1, integer=True)
        flag = self.c.number(node, "flag_below", p, low=1, integer=True)
        coverage = self.c.number(node, "min_effectiveness_coverage", p, low=0, high=1)
        headline = self.c.choice(node, "headline_satisfaction", p, ("top2box", "mean_index"))
        conf = self.c.number(node, "confidence_level", p, low=0.5, high=0.999)
        villages = self.c.choice(node, "villages", p, ("clusters", "strata"), required=False,
                                 default="clusters")
        top_box: tuple[str, ...] = ()
        top = node.get("top_box")
        if not isinstance(top, LineList) or not top:
            self.c.add(node.line_of("top_box"), f"{p}.top_box", top,
                       "must be a list of satisfaction codes", "write e.g. 'top_box: [4, 5]'")
        else:
            top_box = tuple(str(code) for code in top)
        trim = self.c.mapping(node, "weight_trim", p)
        low = high = None
        if trim is not None:
            low = self.c.number(trim, "low", f"{p}.weight_trim", positive=True)
            high = self.c.number(trim, "high", f"{p}.weight_trim", positive=True)
            if low is not None and high is not None and low >= high:
                self.c.add(trim.line, f"{p}.weight_trim", {"low": low, "high": high},
                           "low must be smaller than high", "e.g. {low: 0.3, high: 3.0}")
        if suppress is not None and flag is not None and flag < suppress:
            self.c.add(node.line_of("flag_below"), f"{p}.flag_below", flag,
                       f"is smaller than suppress_below ({suppress})",
                       "flag_below must be at least suppress_below (e.g. 25 and 50)")
        values = (gap, cut, suppress, flag, coverage, headline, conf, low, high)
        if None in values or not top_box:
            return None
        return Method(gap, cut, suppress, flag, coverage, headline, top_box, conf, low, high,
                      villages or "clusters")

    def sexes(self) -> tuple[Choice, ...]:
        seq = self.c.sequence(self.doc, "sexes", "")
        return tuple(self._choices(seq, "sexes"))

    def age_groups(self) -> tuple[AgeGroup, ...]:
        seq = self.c.sequence(self.doc, "age_groups", "")
        groups: list[AgeGroup] = []
        for field, _line, item in self.c.items(seq, "age_groups"):
            code = self.c.code(item, "code", field, CHOICE_CODE_RE, "letters, digits, '_'")
            low = self.c.number(item, "min", field, integer=True, low=0)
            high = self.c.number(item, "max", field, integer=True, low=0)
            label = self.c.text(item, "label", field)
            if low is not None and high is not None and low > high:
                self.c.add(item.line_of("max"), f"{field}.max", high, f"is below min ({low})",
                           "max must be at least min")
                continue
            if None not in (code, low, high, label):
                groups.append(AgeGroup(code, low, high, label))
        ordered = sorted(groups, key=lambda g: g.min)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.min != before.max + 1:
                self.c.add(seq.line if seq else None, "age_groups", f"{before.code} → {after.code}",
                           f"ages {before.max} and {after.min} do not follow each other "
                           "(a gap or an overlap)", "make each group start the year after the "
                           "previous one ends")
        if ordered and ordered[0].min < 18:
            self.c.add(seq.line, "age_groups", ordered[0].min, "the survey interviews adults only",
                       "start the first age group at 18")
        return tuple(ordered)

    def _choices(self, seq: LineList | None, path: str) -> list[Choice]:
        choices: list[Choice] = []
        seen: dict[str, int] = {}
        for field, line, item in self.c.items(seq, path):
            self.c.unknown_keys(item, field, {"code", "label", "missing"})
            code = self.c.code(item, "code", field, CHOICE_CODE_RE,
                               "letters, digits, '_', '.', '-'; no spaces")
            label = self.c.text(item, "label", field)
            missing = self.c.boolean(item, "missing", field, False)
            if code is not None and code in seen:
                self.c.add(line, f"{field}.code", code, f"duplicate code (also at line {seen[code]})",
                           "give every choice of a list its own code")
                continue
            if code is not None:
                seen[code] = line
            if code is not None and label is not None:
                choices.append(Choice(code, label, missing))
        return choices

    def scales(self) -> dict[str, Scale]:
        node = self.c.mapping(self.doc, "scales", "")
        scales: dict[str, Scale] = {}
        if node is None:
            return scales
        for name, value in node.items():
            field = f"scales.{name}"
            if not isinstance(value, LineList) or not value:
                self.c.add(node.line_of(name), field, value, "must be a non-empty list of choices",
                           "write '- {code: \"1\", label: {ru: …, ky: …, en: …}}' items")
                continue
            scales[name] = Scale(name, tuple(self._choices(value, field)))
        for name in REQUIRED_SCALES:
            if name not in node:
                self.c.add(node.line, f"scales.{name}", None,
                           "a scale the forms need is missing",
                           f"add 'scales.{name}' (see forms/README.md for its codes)")
        return scales

    def units(self) -> dict[str, Unit]:
        node = self.c.mapping(self.doc, "units", "")
        units: dict[str, Unit] = {}
        if node is None:
            return units
        for code, value in node.items():
            field = f"units.{code}"
            if not isinstance(value, LineMap):
                self.c.add(node.line_of(code), field, value, "must be a mapping",
                           "write 'label:', 'min:' and optionally 'max:' under it")
                continue
            self.c.unknown_keys(value, field, {"label", "min", "max"})
            label = self.c.text(value, "label", field)
            low = self.c.number(value, "min", field, required=False)
            high = self.c.number(value, "max", field, required=False)
            if low is not None and high is not None and low >= high:
                self.c.add(value.line_of("max"), f"{field}.max", high, f"is not above min ({low})",
                           "make max larger than min")
                continue
            if label is not None:
                units[str(code)] = Unit(str(code), label, low, high)
        return units

    def _unique(self, code: str | None, line: int, field: str) -> None:
        if code is None:
            return
        if code in self.codes:
            self.c.add(line, field, code, f"duplicate code (also used at line {self.codes[code]})",
                       "every question code must be unique in the whole definition")
        else:
            self.codes[code] = line

    def services(self, units: dict[str, Unit]) -> tuple[Service, ...]:
        seq = self.c.sequence(self.doc, "services", "")
        services: list[Service] = []
        seen: dict[str, int] = {}
        for field, _line, item in self.c.items(seq, "services"):
            self.c.unknown_keys(item, field, {"code", "core", "applies_to", "name", "usage",
                                              "satisfaction_items", "indicators"})
            code = self.c.string(item, "code", field)
            if code is not None and code not in CORE_SERVICES + OPTIONAL_SERVICES:
                self.c.add(item.line_of("code"), f"{field}.code", code, "is not a known service code",
                           f"use one of {', '.join(CORE_SERVICES + OPTIONAL_SERVICES)}")
                code = None
            if code is not None and code in seen:
                self.c.add(item.line_of("code"), f"{field}.code", code,
                           f"the service is defined twice (also at line {seen[code]})",
                           "merge the two entries")
                code = None
            if code is not None:
                seen[code] = item.line_of("code")
            core = self.c.boolean(item, "core", field, code in CORE_SERVICES if code else True)
            applies = self._applies_to(item, field)
            name = self.c.text(item, "name", field)
            usage = self.c.text(item, "usage", field)
            prefix = f"{code.lower()}_" if code else None
            items = self._items(item, field, prefix)
            indicators = self._indicators(item, field, prefix, code, units)
            if None not in (code, applies, name, usage):
                services.append(Service(code, core, applies, name, usage, tuple(items),
                                        tuple(indicators)))
        missing = [code for code in CORE_SERVICES if code not in seen]
        if seq is not None and missing:
            self.c.add(seq.line, "services", missing, "core services are missing",
                       "add an entry for each core service")
        return tuple(services)

    def _applies_to(self, item: LineMap, field: str) -> AppliesTo | None:
        value = self.c.string(item, "applies_to", field, required=False, default="all")
        if value in ("all", "rural", "town"):
            return AppliesTo(value)
        if value and value.startswith("feature:") and len(value) > len("feature:"):
            return AppliesTo("feature", value.split(":", 1)[1])
        self.c.add(item.line_of("applies_to"), f"{field}.applies_to", value,
                   "is not a valid condition",
                   "use all, rural, town or feature:<name> (a word of geography.csv 'features')")
        return None

    def _check_prefix(self, code: str | None, prefix: str | None, line: int, field: str) -> str | None:
        if code is None or prefix is None:
            return code
        if not code.startswith(prefix):
            self.c.add(line, field, code, f"does not start with the service prefix '{prefix}'",
                       f"rename it to '{prefix}{code}' so the column traces back to its service")
            return None
        return code

    def _items(self, item: LineMap, field: str, prefix: str | None) -> list[SatisfactionItem]:
        seq = self.c.sequence(item, "satisfaction_items", field)
        result: list[SatisfactionItem] = []
        for f, _line, node in self.c.items(seq, f"{field}.satisfaction_items"):
            self.c.unknown_keys(node, f, {"code", "text", "weight"})
            code = self._check_prefix(self.c.code(node, "code", f), prefix, node.line_of("code"),
                                      f"{f}.code")
            self._unique(code, node.line_of("code"), f"{f}.code")
            text = self.c.text(node, "text", f)
            weight = self.c.number(node, "weight", f, required=False, default=1, low=0)
            if weight == 0:
                self.c.add(node.line_of("weight"), f"{f}.weight", 0, "an item with weight 0 counts for nothing",
                           "give it a positive weight or remove the item")
            if None not in (code, text, weight):
                result.append(SatisfactionItem(code, text, weight))
        if seq is not None and not 1 <= len(seq) <= 5:
            self.c.add(seq.line, f"{field}.satisfaction_items", len(seq),
                       "a service needs 1 to 5 satisfaction items", "keep 2–3 items per service")
        return result

    def _indicators(self, item: LineMap, field: str, prefix: str | None, service: str | None,
                    units: dict[str, Unit]) -> list[Indicator]:
        seq = self.c.sequence(item, "indicators", field)
        result: list[Indicator] = []
        for f, _line, node in self.c.items(seq, f"{field}.indicators"):
            self.c.unknown_keys(node, f, {"code", "text", "unit", "answer", "direction", "floor",
                                          "target", "weight", "evidence"})
            code = self._check_prefix(self.c.code(node, "code", f), prefix, node.line_of("code"),
                                      f"{f}.code")
            self._unique(code, node.line_of("code"), f"{f}.code")
            text = self.c.text(node, "text", f)
            evidence = self.c.text(node, "evidence", f)
            unit = self.c.string(node, "unit", f)
            if unit is not None and units and unit not in units:
                self.c.add(node.line_of("unit"), f"{f}.unit", unit, "is not a unit defined in 'units'",
                           f"use one of {', '.join(units)} or add it to 'units'")
                unit = None
            answer = self.c.choice(node, "answer", f, ANSWERS)
            direction = self.c.choice(node, "direction", f, DIRECTIONS)
            floor = self.c.number(node, "floor", f)
            target = self.c.number(node, "target", f)
            weight = self.c.number(node, "weight", f, required=False, default=1, low=0)
            if answer == "yes_no" and floor is not None and target is not None and (
                    (floor, target) != (0, 1) or direction != "higher"):
                self.c.add(node.line_of("answer"), f"{f}.answer", answer,
                           "a yes/no indicator must have floor 0, target 1 and direction higher",
                           "set floor: 0, target: 1, direction: higher")
                floor = None
            if floor is not None and target is not None:
                if floor == target:
                    self.c.add(node.line_of("target"), f"{f}.target", target,
                               f"equals the floor ({floor}): the score would divide by zero",
                               "give the value that scores 0 as floor and the value that scores 100 as target")
                    floor = None
                elif direction == "higher" and target < floor:
                    self.c.add(node.line_of("target"), f"{f}.target", target,
                               f"is below the floor ({floor}) although higher is better",
                               "swap floor and target, or set direction: lower")
                    floor = None
                elif direction == "lower" and target > floor:
                    self.c.add(node.line_of("target"), f"{f}.target", target,
                               f"is above the floor ({floor}) although lower is better",
                               "swap floor and target, or set direction: higher")
                    floor = None
            if unit is not None and unit in units and floor is not None and target is not None:
                bounds = units[unit]
                for key, value in (("floor", floor), ("target", target)):
                    if (bounds.min is not None and value < bounds.min) or (
                            bounds.max is not None and value > bounds.max):
                        self.c.add(node.line_of(key), f"{f}.{key}", value,
                                   f"is outside the range of unit '{unit}' ({bounds.min}–{bounds.max})",
                                   "give a value the unit allows")
                        floor = None
            if None not in (code, text, unit, answer, direction, floor, target, weight, evidence):
                result.append(Indicator(code, service, text, unit, answer, direction, floor, target,
                                        weight, evidence))
        if seq is not None and not 1 <= len(seq) <= 6:
            self.c.add(seq.line, f"{field}.indicators", len(seq),
                       "a service needs 1 to 6 effectiveness indicators", "keep 2–4 per service")
        return result

    def profile_questions(self) -> tuple[ProfileQuestion, ...]:
        seq = self.c.sequence(self.doc, "profile_questions", "")
        result: list[ProfileQuestion] = []
        for f, _line, node in self.c.items(seq, "profile_questions"):
            self.c.unknown_keys(node, f, {"code", "type", "min", "max", "text", "constraint_message"})
            code = self.c.code(node, "code", f)
            self._unique(code, node.line_of("code"), f"{f}.code")
            qtype = self.c.choice(node, "type", f, ("integer",))
            low = self.c.number(node, "min", f, integer=True)
            high = self.c.number(node, "max", f, integer=True)
            if low is not None and high is not None and low >= high:
                self.c.add(node.line_of("max"), f"{f}.max", high, f"is not above min ({low})",
                           "make max larger than min")
                high = None
            text = self.c.text(node, "text", f)
            message = self.c.text(node, "constraint_message", f)
            if None not in (code, qtype, low, high, text, message):
                result.append(ProfileQuestion(code, qtype, low, high, text, message))
        return tuple(result)

    def governance(self, scales: dict[str, Scale]) -> tuple[GovernanceItem, ...]:
        seq = self.c.sequence(self.doc, "governance_items", "")
        result: list[GovernanceItem] = []
        for f, _line, node in self.c.items(seq, "governance_items"):
            self.c.unknown_keys(node, f, {"code", "scale", "text"})
            code = self.c.code(node, "code", f)
            self._unique(code, node.line_of("code"), f"{f}.code")
            scale = self.c.string(node, "scale", f)
            if scale is not None and scale not in scales:
                self.c.add(node.line_of("scale"), f"{f}.scale", scale, "is not a scale defined in 'scales'",
                           f"use one of {', '.join(scales)}")
                scale = None
            text = self.c.text(node, "text", f)
            if None not in (code, scale, text):
                result.append(GovernanceItem(code, scale, text))
        return tuple(result)

    def importance(self) -> Importance | None:
        node = self.c.mapping(self.doc, "importance", "")
        if node is None:
            return None
        self.c.unknown_keys(node, "importance", {"text", "max_choices"})
        text = self.c.text(node, "text", "importance")
        most = self.c.number(node, "max_choices", "importance", integer=True, low=1, high=5)
        return None if None in (text, most) else Importance(text, most)

    def texts(self) -> dict[str, Text]:
        node = self.c.mapping(self.doc, "texts", "")
        texts: dict[str, Text] = {}
        if node is None:
            return texts
        for key in node:
            if key not in REQUIRED_TEXTS:
                self.c.add(node.line_of(key), f"texts.{key}", key, "is not a text the forms use",
                           "check the spelling or remove it (forms/texts.py lists the keys)")
                continue
            text = self.c.text(node, key, "texts")
            if text is not None:
                texts[key] = text
        for key, meaning in REQUIRED_TEXTS.items():
            if key not in node:
                self.c.add(node.line, f"texts.{key}", None, f"a text the forms need is missing ({meaning})",
                           f"add 'texts.{key}' with ru, ky and en")
        return texts

    def sample_plan(self) -> SamplePlanSettings | None:
        node = self.c.mapping(self.doc, "sample_plan", "")
        if node is None:
            return None
        p = "sample_plan"
        self.c.unknown_keys(node, p, {"margin_of_error", "confidence_level", "design_effect",
                                      "min_interviews", "max_interviews", "fieldwork_days",
                                      "focus_groups", "teams"})
        moe = self.c.number(node, "margin_of_error", p, low=0.005, high=0.3)
        conf = self.c.number(node, "confidence_level", p, low=0.5, high=0.999)
        deff = self.c.number(node, "design_effect", p, low=1, high=10)
        low = self.c.number(node, "min_interviews", p, integer=True, low=1)
        high = self.c.number(node, "max_interviews", p, integer=True, low=1)
        days = self.c.number(node, "fieldwork_days", p, integer=True, low=1, high=60)
        if low is not None and high is not None and low > high:
            self.c.add(node.line_of("max_interviews"), f"{p}.max_interviews", high,
                       f"is below min_interviews ({low})", "make max_interviews at least min_interviews")
        groups: dict[str, int] = {}
        fg = self.c.mapping(node, "focus_groups", p)
        group_types = self.doc.get("scales", {}).get("fg_group_type") if isinstance(
            self.doc.get("scales"), dict) else None
        known = {str(c.get("code")) for c in group_types or [] if isinstance(c, dict)}
        if fg is not None:
            for key in fg:
                count = self.c.number(fg, key, f"{p}.focus_groups", integer=True, low=0)
                if known and key not in known:
                    self.c.add(fg.line_of(key), f"{p}.focus_groups.{key}", key,
                               "is not a group type of scales.fg_group_type",
                               f"use one of {', '.join(sorted(known))}")
                elif count is not None:
                    groups[str(key)] = count
        teams: list[Team] = []
        enumerators: dict[str, int] = {}
        codes: dict[str, int] = {}  # team code -> its line
        assigned: dict[str, str] = {}  # municipality -> the team it is in
        for f, _line, item in self.c.items(self.c.sequence(node, "teams", p), f"{p}.teams"):
            self.c.unknown_keys(item, f, {"code", "supervisor", "enumerators", "municipalities"})
            code = self.c.code(item, "code", f, CHOICE_CODE_RE, "letters, digits, '_'")
            if code is not None and code in codes:
                self.c.add(item.line_of("code"), f"{f}.code", code,
                           f"the team code is already used (line {codes[code]})",
                           "give each team its own code, e.g. the next number")
                code = None  # not planned twice
            elif code is not None:
                codes[code] = item.line_of("code")
            supervisor = self.c.code(item, "supervisor", f, CHOICE_CODE_RE, "letters, digits, '_'")
            names = []
            for key in ("enumerators", "municipalities"):
                seq = self.c.sequence(item, key, f)
                values = [str(v) for v in seq] if seq is not None else []
                if seq is not None and not values:
                    self.c.add(seq.line, f"{f}.{key}", [], "is empty", f"list at least one of the team's {key}")
                names.append(values)
            for municipality in names[1]:
                if municipality in assigned:
                    self.c.add(item.line_of("municipalities"), f"{f}.municipalities", municipality,
                               f"the municipality is already assigned to team {assigned[municipality]}",
                               "a municipality belongs to one team: remove it from one of them")
                elif code is not None:
                    assigned[municipality] = code
            for enumerator in names[0]:
                if not CHOICE_CODE_RE.match(enumerator):
                    self.c.add(item.line_of("enumerators"), f"{f}.enumerators", enumerator,
                               "is not a valid enumerator code", "use letters and digits, e.g. E01")
                elif enumerator in enumerators:
                    self.c.add(item.line_of("enumerators"), f"{f}.enumerators", enumerator,
                               f"the enumerator is already in a team (line {enumerators[enumerator]})",
                               "an enumerator belongs to one team")
                else:
                    enumerators[enumerator] = item.line_of("enumerators")
            if None not in (code, supervisor) and all(names):
                teams.append(Team(code, supervisor, tuple(names[0]), tuple(names[1])))
        if None in (moe, conf, deff, low, high, days):
            return None
        return SamplePlanSettings(moe, conf, deff, low, high, days, groups, tuple(teams))


def _is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (the interview dates of the quality rules use it)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
