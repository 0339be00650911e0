"""The focus-group record: one submission per session — metadata, consent and optional background
audio, an anonymous participant roster, a ranking of services, themes coded from the codebook with
their quotes, group scores for the group's priority services, observer notes."""

from __future__ import annotations

from forms.blocks import (
    join,
    location_choices,
    location_rows,
    metadata_rows,
    scale_choices,
    service_choices,
)
from forms.definition import Definition, Geography
from forms.xlsform import ChoiceRow, FormSpec, Row

FORM_ID = "focus_group"
TOP_RANKS = 3


def focus_group(definition: Definition, geography: Geography) -> FormSpec:
    t = definition.text
    survey = metadata_rows(definition)
    survey += [Row("begin_group", "session", label=t("grp_session"))]
    survey += location_rows(definition)
    survey += [
        Row("date", "fg_date", label=t("fg_date"), required="yes", constraint=". <= today()"),
        Row("time", "fg_start_time", label=t("fg_start_time"), required="yes"),
        Row("time", "fg_end_time", label=t("fg_end_time"), required="yes",
            constraint="decimal-time(.) > decimal-time(${fg_start_time})"),
        Row("select_one fg_group_type", "fg_group_type", label=t("fg_group_type"), required="yes"),
        Row("text", "fg_moderator", label=t("fg_moderator"), required="yes"),
        Row("text", "fg_notetaker", label=t("fg_notetaker"), required="yes"),
        Row("select_one fg_language", "fg_language", label=t("fg_language"), required="yes"),
        Row("select_one yes_no", "fg_consent_record", label=t("fg_consent_record"), required="yes"),
        Row("end_group"),
        Row("begin_repeat", "fg_participant", label=t("fg_participant")),
        Row("text", "fg_p_code", label=t("fg_participant_code"), required="yes",
            constraint="string-length(.) <= 10"),
        Row("select_one sex", "fg_p_sex", label=t("fg_participant_sex"), required="yes"),
        Row("select_one age_group", "fg_p_age_group", label=t("fg_participant_age_group"),
            required="yes"),
        Row("select_one fg_role", "fg_p_role", label=t("fg_participant_role"), required="yes"),
        Row("end_repeat"),
        Row("calculate", "fg_n_participants", calculation="count(${fg_participant})"),
        Row("note", "fg_roster_warning", label=t("fg_roster_warning"),
            relevant="${fg_n_participants} < 6 or ${fg_n_participants} > 12"),
        Row("rank services", "fg_ranking", label=t("fg_ranking"), required="yes"),
        Row("begin_repeat", "fg_theme", label=t("fg_theme")),
        Row("select_one services", "fg_theme_service", label=t("fg_theme_service"), required="yes"),
        Row("select_one fg_theme", "fg_theme_code", label=t("fg_theme_code"), required="yes"),
        Row("select_one sentiment", "fg_theme_sentiment", label=t("fg_theme_sentiment"),
            required="yes"),
        Row("integer", "fg_theme_agreed", label=t("fg_theme_agreed"), required="yes",
            constraint=". >= 0 and . <= ${fg_n_participants}",
            constraint_message=t("fg_theme_agreed_constraint")),
        Row("text", "fg_theme_summary", label=t("fg_theme_summary"), required="yes",
            appearance="multiline"),
        Row("begin_repeat", "fg_quote", label=t("fg_quote")),
        Row("text", "fg_quote_text", label=t("fg_quote_text"), required="yes", appearance="multiline"),
        Row("text", "fg_quote_participant", label=t("fg_quote_participant")),
        Row("integer", "fg_quote_minute", label=t("fg_quote_minute"), constraint=". >= 0 and . <= 300"),
        Row("end_repeat"),
        Row("text", "fg_theme_recommendation", label=t("fg_theme_recommendation"),
            appearance="multiline"),
        Row("end_repeat"),
        Row("begin_group", "scores", label=t("grp_scores")),
    ]
    for service in definition.services:
        top = " or ".join(f"selected-at(${{fg_ranking}}, {i}) = '{service.code}'"
                          for i in range(TOP_RANKS))
        survey.append(Row("select_one score5", f"{service.prefix}_fg_satisfaction",
                          label=join(t("fg_score_satisfaction"), service.name, sep=": "), relevant=top))
        survey.append(Row("select_one score5", f"{service.prefix}_fg_performance",
                          label=join(t("fg_score_performance"), service.name, sep=": "),
                          relevant=f"${{fg_group_type}} = 'lsg_staff' and ({top})"))
    survey += [
        Row("end_group"),
        Row("text", "fg_observer_notes", label=t("fg_observer_notes"), appearance="multiline"),
        Row("image", "fg_flipchart_photo", label=t("fg_flipchart_photo"),
            parameters="max-pixels=1600"),
    ]
    # background audio is the first question Collect meets, only with everyone's consent asked
    # before the session; pyxform allows it at the top level only.
    survey.insert(0, Row("background-audio", "fg_audio", parameters="quality=voice-only"))

    choices = location_choices(geography)
    choices += [ChoiceRow("sex", s.code, s.label) for s in definition.sexes]
    choices += [ChoiceRow("age_group", g.code, g.label) for g in definition.age_groups]
    for name in ("yes_no", "fg_group_type", "fg_language", "fg_role", "fg_theme", "sentiment",
                 "score5"):
        choices += scale_choices(definition.scales[name])
    choices += service_choices(definition)
    return FormSpec(
        form_id=FORM_ID,
        title=t("form_focus_group"),
        default_language=definition.study.default_language,
        survey=survey,
        choices=choices,
        instance_name="concat(${municipality}, ' ', ${fg_group_type}, ' ', ${fg_date})",
    )

