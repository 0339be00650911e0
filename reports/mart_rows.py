"""The typed rows the deliverables read from the marts (:class:`reports.marts.Marts` makes them):
one dataclass per mart a report shows, with every code's label already in the report's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Round:
    """A scored round (``dim_round``): its fieldwork days (interviews used, or the LSG
    assessments when it has none) and its place in time (None: no dated record)."""

    code: str
    position: int | None
    first_day: dt.date | None
    last_day: dt.date | None
    interviews: int


@dataclass(frozen=True)
class Method:
    """The settings of ``method:`` and ``quality:`` the scores were made with (``study_method``)."""

    study_code: str
    definition_round: str
    fieldwork_start: str | None
    fieldwork_end: str | None
    gap_threshold: float
    quadrant_cut: float
    suppress_below: int
    flag_below: int
    min_effectiveness_coverage: float
    headline_satisfaction: str
    top_box: list[str]
    confidence_level: float
    weight_trim_low: float
    weight_trim_high: float
    villages: str
    max_priorities: int
    exclude_not_approved: bool
    exclude_no_consent: bool
    quality_rules: list[str]
    exclude_rules: list[str]
    min_seconds_per_answer: float
    straight_lining_share: float
    straight_lining_min_blocks: int
    gps_max_km: float
    gps_min_interviews: int
    enumerator_outlier_z: float
    enumerator_min_interviews: int
    fg_score_gap: float


@dataclass(frozen=True)
class Place:
    """A municipality with its names."""

    code: str
    name: str
    rayon: str
    oblast: str


@dataclass(frozen=True)
class Cell:
    """One ``gap_scores`` row (round × municipality × service) with its names and the base of
    its importance (respondents asked for their priorities)."""

    round: str
    municipality_code: str
    municipality: str
    service_code: str
    service: str
    service_order: int
    n: int
    satisfaction: float | None
    satisfaction_ci_low: float | None
    satisfaction_ci_high: float | None
    satisfaction_mean_index: float | None
    importance: float | None
    importance_n: int | None
    effectiveness: float | None
    effectiveness_coverage: float
    effectiveness_indicators: int | None
    effectiveness_indicators_expected: int | None
    effectiveness_unverified: int
    assessed: bool
    gap: float | None
    gap_ci_low: float | None
    gap_ci_high: float | None
    gap_status: str
    quadrant: str | None
    suppressed: bool
    unreliable: bool
    gap_established: bool
    gap_material: bool
    design_effect: float | None
    effective_n: float | None


@dataclass(frozen=True)
class MunicipalityScore:
    """One ``municipality_scores`` row with the municipality's name."""

    round: str
    municipality_code: str
    municipality: str
    services: int
    services_with_gap: int
    satisfaction: float | None
    effectiveness: float | None
    mean_abs_gap: float | None
    mean_abs_gap_priority_weighted: float | None
    gaps_established: int
    aligned: int
    perception_exceeds: int
    performance_underrecognised: int
    insufficient_data: int
    suppressed: int
    unreliable: int
    assessed: bool
    interviews: int
    interviews_used: int
    interviews_excluded: int


@dataclass(frozen=True)
class Change:
    """One ``gap_changes`` row (a cell scored in this round and the one before) with names."""

    round_before: str
    round_after: str
    municipality_code: str
    municipality: str
    service_code: str
    service: str
    n_before: int
    n_after: int
    suppressed: bool
    unreliable: bool
    satisfaction_before: float | None
    satisfaction_after: float | None
    satisfaction_change: float | None
    satisfaction_change_ci_low: float | None
    satisfaction_change_ci_high: float | None
    p_value_adjusted: float | None
    significant: bool
    satisfaction_change_status: str | None
    effectiveness_before: float | None
    effectiveness_after: float | None
    effectiveness_change: float | None
    gap_before: float | None
    gap_after: float | None
    gap_change: float | None
    gap_status_before: str | None
    gap_status_after: str | None
    quadrant_before: str | None
    quadrant_after: str | None


@dataclass(frozen=True)
class Theme:
    """One ``fg_themes`` row: a theme raised in focus groups of one type, with labels."""

    municipality_code: str
    municipality: str
    service_code: str
    service: str
    group_type: str
    group: str
    theme_code: str
    theme: str
    sentiment_code: str
    sentiment: str
    sessions: int
    sessions_held: int
    participants_agreed: int
    participants_present: int
    mentions: int


@dataclass(frozen=True)
class Mention:
    """One theme as a session recorded it (``fct_fg_mentions``): the note-taker's summary and
    the group's own recommendation, as typed."""

    municipality_code: str
    service_code: str
    group_type: str
    theme_code: str
    sentiment_code: str
    agreed: int
    participants: int
    summary: str | None
    recommendation: str | None


@dataclass(frozen=True)
class Quote:
    """One quote of the quote bank (``fg_quotes``) with labels; the quote is respondent text."""

    municipality_code: str
    municipality: str
    village: str | None
    session_date: dt.date | None
    group: str
    service: str
    theme: str
    sentiment: str
    participant_code: str | None
    participant_sex: str | None
    participant_age_group: str | None
    participant_role: str | None
    minute: int | None
    quote: str
    instance_name: str | None


@dataclass(frozen=True)
class GroupScore:
    """One ``fg_scores`` row: a group's own 1-5 scores beside the survey's S and E."""

    municipality_code: str
    municipality: str
    service_code: str
    service: str
    group: str
    satisfaction_sessions: int
    satisfaction_score: float | None
    satisfaction_index: float | None
    survey_satisfaction: float | None
    survey_n: int | None
    survey_suppressed: bool
    satisfaction_difference: float | None
    performance_sessions: int
    performance_score: float | None
    performance_index: float | None
    effectiveness: float | None
    performance_difference: float | None
    disagrees: bool


@dataclass(frozen=True)
class Exclusion:
    """Interviews of a municipality left out (``excluded``) or flagged for one reason."""

    municipality_code: str
    municipality: str
    reason: str
    excludes: bool
    excluded: int
    flagged: int
    interviews: int


@dataclass(frozen=True)
class Enumerator:
    """An enumerator's interviews of the round: used, left out, flagged, and per quality rule."""

    enumerator_code: str
    team_code: str | None
    interviews: int
    used: int
    excluded: int
    flagged: int
    rules: dict[str, int]


@dataclass(frozen=True)
class Indicator:
    """An effectiveness indicator of the study definition (``dim_indicator``)."""

    service_code: str
    service: str
    indicator_code: str
    text: str
    unit: str
    answer: str
    direction: str
    floor: float
    target: float
    weight: float
    evidence: str


@dataclass(frozen=True)
class IndicatorScore:
    """An indicator's value in the LSG assessment used, and its 0-100 score."""

    municipality_code: str
    municipality: str
    service_code: str
    service: str
    indicator_code: str
    text: str
    unit: str
    answer: str
    value: str | None
    floor: float
    target: float
    score: float | None
    verified: bool


@dataclass(frozen=True)
class ItemScore:
    """A satisfaction item of a service: its valid base and weighted top-box share (0-100)."""

    municipality_code: str
    service_code: str
    item_code: str
    text: str
    n: int
    satisfaction: float | None


@dataclass(frozen=True)
class FormCount:
    """The submissions of one study form in the round: received, used, and left out by reason."""

    form: str
    received: int
    used: int
    left_out: dict[str, int]


@dataclass(frozen=True)
class ScaleLabel:
    """An answer code with its label (e.g. the satisfaction scale's 1-5, 8, 9)."""

    code: str
    label: str
    missing: bool
