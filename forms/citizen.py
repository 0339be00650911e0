"""The citizen survey: consent gate, location cascade, profile, one block per service that applies
to the chosen municipality (usage filter, then its satisfaction items), priorities, governance."""

from __future__ import annotations

from forms.blocks import (
    applies_condition,
    both,
    join,
    location_choices,
    location_rows,
    metadata_rows,
    same,
    scale_choices,
    service_choices,
)
from forms.definition import Definition, Geography
from forms.xlsform import ChoiceRow, FormSpec, Row

FORM_ID = "citizen_survey"
CONSENTED = "${consent} = 'yes'"


def citizen_survey(definition: Definition, geography: Geography) -> FormSpec:
    t = definition.text
    survey = metadata_rows(definition)
    survey += [Row("begin_group", "interview", label=t("grp_interview")),
               Row("select_one enumerator", "enumerator", label=t("enumerator"), required="yes")]
    survey += location_rows(definition)
    survey += [
        Row("geopoint", "gps", label=t("gps")),
        Row("select_one yes_no", "consent", label=t("consent"), required="yes"),
        Row("note", "consent_refused", label=t("consent_refused"), relevant="${consent} = 'no'"),
        Row("end_group"),
    ]
    survey += _profile(definition)
    for service in definition.services:
        condition = applies_condition(service, geography)
        if condition is None:
            continue
        survey.append(Row("begin_group", service.prefix, label=service.name,
                          relevant=both(CONSENTED, condition)))
        use = f"{service.prefix}_use"
        survey.append(Row("select_one usage", use, label=service.usage, required="yes"))
        for item in service.items:
            survey.append(Row("select_one satisfaction", item.code,
                              label=join(t("satisfaction_prompt"), item.text, sep=" "),
                              hint=t("hint_satisfaction"), required="yes",
                              relevant=f"${{{use}}} = '1'"))
        survey.append(Row("end_group"))
    most = definition.importance.max_choices
    survey += [
        Row("begin_group", "priorities", label=t("grp_priorities"), relevant=CONSENTED),
        Row("select_multiple services", "priority_services", label=definition.importance.text,
            required="yes", constraint=f"count-selected(.) <= {most}",
            constraint_message=t("priorities_constraint")),
        Row("end_group"),
        Row("begin_group", "governance", label=t("grp_governance"), relevant=CONSENTED),
    ]
    survey += [Row(f"select_one {item.scale}", item.code, label=item.text, required="yes")
               for item in definition.governance_items]
    survey += [Row("end_group"),
               Row("note", "end_thanks", label=t("end_thanks"), relevant=CONSENTED)]

    choices = [ChoiceRow("enumerator", code, same(f"{code} ({team.code})"))
               for team in definition.sample_plan.teams for code in team.enumerators]
    choices += location_choices(geography)
    choices += [ChoiceRow("sex", s.code, s.label) for s in definition.sexes]
    used = {"yes_no", "usage", "satisfaction"} | {item.scale for item in definition.governance_items}
    for name in sorted(used):
        choices += scale_choices(definition.scales[name])
    choices += service_choices(definition)
    return FormSpec(
        form_id=FORM_ID,
        title=t("form_citizen_survey"),
        default_language=definition.study.default_language,
        survey=survey,
        choices=choices,
        instance_name="concat(${municipality}, '-', ${village}, ' ', ${enumerator}, ' ', "
                      "${resp_sex}, ${resp_age}, ' ', substr(${start}, 0, 16))",
    )


def _profile(definition: Definition) -> list[Row]:
    t = definition.text
    groups = definition.age_groups
    low, high = groups[0].min, groups[-1].max
    age_group = f"'{groups[-1].code}'"
    for group in reversed(groups[:-1]):
        age_group = f"if(${{resp_age}} <= {group.max}, '{group.code}', {age_group})"
    rows = [
        Row("begin_group", "profile", label=t("grp_profile"), relevant=CONSENTED),
        Row("select_one sex", "resp_sex", label=t("resp_sex"), required="yes"),
        Row("integer", "resp_age", label=t("resp_age"), required="yes",
            constraint=f". >= {low} and . <= {high}",
            constraint_message=join(t("resp_age_constraint"), same(f"({low}–{high})"))),
        Row("calculate", "resp_age_group", calculation=age_group),
    ]
    rows += [Row("integer", q.code, label=q.text, required="yes",
                 constraint=f". >= {q.min} and . <= {q.max}", constraint_message=q.constraint_message)
             for q in definition.profile_questions]
    rows.append(Row("end_group"))
    return rows
