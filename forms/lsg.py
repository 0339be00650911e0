"""The LSG effectiveness assessment: one per municipality and round. For every effectiveness
indicator of a service that applies: the value (typed, within the unit's bounds), whether a
document verified it, the document reference and an optional photo."""

from __future__ import annotations

from forms.blocks import (
    applies_condition,
    bounds_constraint,
    join,
    location_choices,
    location_rows,
    metadata_rows,
    same,
    scale_choices,
)
from forms.definition import Definition, Geography, Indicator
from forms.xlsform import FormSpec, Row

FORM_ID = "lsg_assessment"
LEVELS = ("oblast", "rayon", "municipality")


def lsg_assessment(definition: Definition, geography: Geography) -> FormSpec:
    t = definition.text
    survey = metadata_rows(definition)
    survey += [Row("begin_group", "assessment", label=t("grp_assessment")),
               Row("text", "assessor", label=t("assessor"), required="yes",
                   constraint="string-length(.) >= 2 and string-length(.) <= 20")]
    survey += location_rows(definition, LEVELS)
    survey += [
        Row("date", "assessment_date", label=t("assessment_date"), required="yes",
            constraint=". <= today()"),
        Row("text", "lsg_informant", label=t("lsg_informant"), required="yes"),
        Row("end_group"),
    ]
    for service in definition.services:
        condition = applies_condition(service, geography)
        if condition is None:
            continue
        survey.append(Row("begin_group", service.prefix, label=service.name, relevant=condition))
        for indicator in service.indicators:
            survey += _indicator_rows(definition, indicator)
        survey.append(Row("end_group"))
    survey.append(Row("text", "comments", label=t("comments"), appearance="multiline"))
    choices = location_choices(geography, LEVELS) + scale_choices(definition.scales["yes_no"])
    return FormSpec(
        form_id=FORM_ID,
        title=t("form_lsg_assessment"),
        default_language=definition.study.default_language,
        survey=survey,
        choices=choices,
        instance_name="concat(${municipality}, ' ', ${study_round}, ' ', ${assessment_date})",
    )


def _indicator_rows(definition: Definition, indicator: Indicator) -> list[Row]:
    t = definition.text
    unit = definition.units[indicator.unit]
    code = indicator.code
    if indicator.answer == "yes_no":
        value = Row("select_one yes_no", code, label=indicator.text)
    else:
        label = join(indicator.text, unit.label.map("({})"))
        value = Row(indicator.answer, code, label=label,
                    constraint=bounds_constraint(unit.min, unit.max),
                    constraint_message=join(t("value_constraint"), same(_range(unit.min, unit.max))))
    value.hint = join(indicator.evidence.map("{}."), t("indicator_hint"))
    answered = f"string-length(${{{code}}}) > 0"
    verified = f"${{{code}_verified}} = 'yes'"
    return [
        value,
        Row("select_one yes_no", f"{code}_verified", label=t("indicator_verified"),
            required="yes", relevant=answered),
        Row("text", f"{code}_doc", label=t("indicator_document"), hint=indicator.evidence,
            required="yes", relevant=verified),
        Row("image", f"{code}_photo", label=t("indicator_photo"), relevant=verified,
            parameters="max-pixels=1280"),
    ]


def _range(low: float | None, high: float | None) -> str:
    def num(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if low is not None and high is not None:
        return f"({num(low)}–{num(high)})"
    return f"(≥ {num(low)})" if low is not None else f"(≤ {num(high)})"
