"""The tables ``aimak publish`` writes, declared in code with SQLAlchemy Core (duckdb-engine cannot
reflect the warehouse, DESIGN.md section 7, and a fixed declaration is the contract BI tools read).

Three kinds, replaced in different ways (``warehouse.publish`` does it, all in one transaction):

- round tables (:data:`ROUND_TABLES`): the marts people filter by round. Publishing round R deletes
  R's rows and inserts the new ones; other rounds stay. ``gap_changes`` belongs to the later round
  of its pair (``round_after``).
- dimension tables (:data:`DIMENSIONS`): the study definition as codes and labels. Replaced whole
  by each publish (every row deleted, the warehouse's inserted): they describe the definition the
  published rounds were scored with, which is the latest one.
- form tables (``submissions_<form_id>``, ``repeat_<form_id>__<repeat>``): the typed submissions of
  every synced form, without the personal questions (``warehouse.personal``). Replaced whole, like
  the warehouse's own, which hold the live submissions of every round (edits and deletions
  included). Their columns follow the form, so they are declared from the warehouse's column types
  at publish time (:func:`form_table`).

Types a BI tool reads well: numbers as BIGINT or DOUBLE PRECISION, dates as DATE, flags as
BOOLEAN, times as TIMESTAMP WITH TIME ZONE; codes and texts as TEXT. Indexes on the keys dashboards
filter by (round, municipality, service). Comments on every table and on the columns: the gap
report's data dictionary (``reports.gap_columns``, passed in as ``meanings``) where it explains the
column, the texts below otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import sqlalchemy as sa

TYPES = {"t": sa.Text, "i": sa.BigInteger, "f": sa.Double, "b": sa.Boolean, "d": sa.Date}

# column -> its meaning, wherever a column of that name appears (a table's own texts win)
COMMON = {
    "round": "Study round code (study.round of the definition the forms were built from).",
    "municipality_code": "Municipality (aiyl aimak or town) code, as in dim_municipality.",
    "village_code": "Village code, as in dim_village.",
    "service_code": "Local service code, as in dim_service.",
    "enumerator_code": "Enumerator code, as in dim_enumerator.",
    "submission_id": "KoboToolbox submission _id (the row of submissions_<form_id> with that _id).",
    "instance_id": "The submission's meta/instanceID (changes when it is edited).",
    "instance_name": "The submission's instance name on the server.",
    "group_type": "Focus-group type (LSG staff, residents, ...).",
    "sentiment": "Sentiment of the theme: positive, negative or mixed.",
    "theme_code": "Theme code from the focus-group codebook.",
    "session_date": "Date of the focus-group session.",
    "sort_order": "Order in the study definition.",
    "service_key": "Integer key of the service (1, 2, ... in the study definition's order).",
    "item_key": "Integer key of the item (1, 2, ... in the study definition's order).",
    "adults": "Adult population (geography.csv).",
}
for _lang, _name in (("ru", "Russian"), ("ky", "Kyrgyz"), ("en", "English")):
    for _col, _what in (("name", "Name"), ("text", "Text"), ("label", "Label"),
                        ("rayon", "Rayon name"), ("oblast", "Oblast name"),
                        ("unit_label", "Unit label"), ("evidence", "Evidence document")):
        COMMON[f"{_col}_{_lang}"] = f"{_what} in {_name}."


class Spec:
    """A table as declared: name, comment, columns (``"name:type"``, types of :data:`TYPES`),
    indexed column groups, the key that names its round (round tables), column texts and the
    column -> FIELDS key of the gap report's dictionary."""

    def __init__(self, name: str, comment: str, columns: str, *, indexes: tuple[str, ...] = (),
                 round_key: str | None = None, texts: Mapping[str, str] | None = None,
                 dictionary: Mapping[str, str] | None = None):
        self.name, self.comment, self.round_key = name, comment, round_key
        self.columns = [tuple(part.split(":")) for part in columns.split()]
        self.indexes = [group.split() for group in indexes]
        self.texts, self.dictionary = dict(texts or {}), dict(dictionary or {})

    def table(self, metadata: sa.MetaData, meanings: Mapping[str, str]) -> sa.Table:
        columns = [sa.Column(name, TYPES[kind], comment=self.comment_of(name, meanings))
                   for name, kind in self.columns]
        table = sa.Table(self.name, metadata, *columns, comment=self.comment)
        for group in self.indexes:
            sa.Index(index_name(self.name, group), *(table.c[c] for c in group))
        return table

    def comment_of(self, column: str, meanings: Mapping[str, str]) -> str | None:
        key = self.dictionary.get(column)
        if key and key in meanings:
            return meanings[key]
        return self.texts.get(column) or COMMON.get(column)


def index_name(table: str, columns: list[str]) -> str:
    """``ix_<table>__<columns>``, cut with a hash to PostgreSQL's 63 characters."""
    name = f"ix_{table}__{'_'.join(columns)}"
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


RMS = ("round municipality_code service_code", "municipality_code service_code")
RM = ("round municipality_code",)

ROUND_TABLES = [
    Spec("gap_scores", "Satisfaction S, effectiveness E and the gap G = S - E, one row per round x "
         "municipality x service (DESIGN.md section 5); 0-100 scales.", """
         round:t municipality_code:t service_code:t n:i satisfaction:f satisfaction_ci_low:f
         satisfaction_ci_high:f satisfaction_top2box:f top2box_ci_low:f top2box_ci_high:f
         satisfaction_mean_index:f mean_index_ci_low:f mean_index_ci_high:f importance:f
         effectiveness:f effectiveness_coverage:f effectiveness_indicators:i
         effectiveness_indicators_expected:i effectiveness_unverified:i assessed:b gap:f
         gap_ci_low:f gap_ci_high:f gap_status:t quadrant:t suppressed:b unreliable:b
         gap_established:b gap_material:b design_effect:f effective_n:f wilson_base:f
         satisfaction_items:i villages:i villages_missing:i degrees_of_freedom:i""",
         indexes=RMS, round_key="round", dictionary={
             "n": "n", "satisfaction": "satisfaction", "satisfaction_ci_low": "ci_low",
             "satisfaction_ci_high": "ci_high", "satisfaction_mean_index": "mean_index",
             "importance": "importance", "effectiveness": "effectiveness",
             "effectiveness_coverage": "coverage", "gap": "gap", "gap_ci_low": "gap_ci_low",
             "gap_ci_high": "gap_ci_high", "gap_status": "status", "gap_established": "established",
             "quadrant": "quadrant", "assessed": "assessed"},
         texts={"suppressed": "True when the base n is below method.suppress_below: S is not shown.",
                "unreliable": "True when the base n is below method.flag_below: read S with care.",
                "design_effect": "Design effect of S (clustering and unequal weights).",
                "effective_n": "Effective base: n / design_effect.",
                "satisfaction_top2box": "Weighted top-box share, 0-100.",
                "gap_material": "True when |G| exceeds the gap threshold."}),
    Spec("municipality_scores", "One row per round x municipality: the services' scores summed "
         "up (counts by status and quadrant, means of S, E and |G|), and the interviews used.", """
         round:t municipality_code:t services:i services_with_gap:i satisfaction:f effectiveness:f
         mean_abs_gap:f satisfaction_priority_weighted:f effectiveness_priority_weighted:f
         mean_abs_gap_priority_weighted:f aligned:i perception_exceeds:i
         performance_underrecognised:i insufficient_data:i maintain:i communicate:i
         expectation_risk:i fix_first:i gaps_established:i suppressed:i unreliable:i assessed:b
         interviews:i interviews_used:i interviews_excluded:i weighting_efficiency:f
         design_effect_weighting:f""", indexes=RM, round_key="round", dictionary={
             "services": "services", "services_with_gap": "services_with_gap",
             "satisfaction": "mean_satisfaction", "effectiveness": "mean_effectiveness",
             "mean_abs_gap": "mean_abs_gap", "mean_abs_gap_priority_weighted": "mean_abs_gap_pw",
             "gaps_established": "gaps_established", "assessed": "assessed",
             "interviews": "interviews", "interviews_used": "interviews_used",
             "interviews_excluded": "interviews_excluded"}),
    Spec("gap_changes", "Round over round, one row per pair of rounds x municipality x service: "
         "the change in S (Newcombe interval, Benjamini-Hochberg), in E and in the gap. Published "
         "with the later round (round_after).", """
         round_before:t round_after:t municipality_code:t service_code:t n_before:i n_after:i
         effective_n_before:f effective_n_after:f suppressed:b unreliable:b satisfaction_before:f
         satisfaction_after:f satisfaction_change:f satisfaction_change_ci_low:f
         satisfaction_change_ci_high:f change_method:t p_value:f p_value_adjusted:f significant:b
         satisfaction_change_status:t effectiveness_before:f effectiveness_after:f
         effectiveness_change:f gap_before:f gap_after:f gap_change:f gap_status_before:t
         gap_status_after:t quadrant_before:t quadrant_after:t""",
         indexes=("round_after municipality_code service_code", "round_before"),
         round_key="round_after", dictionary={
             "n_before": "n_before", "n_after": "n_after", "satisfaction_before": "s_before",
             "satisfaction_after": "s_after", "satisfaction_change": "s_change",
             "satisfaction_change_ci_low": "s_change_ci_low",
             "satisfaction_change_ci_high": "s_change_ci_high", "p_value_adjusted": "p_adjusted",
             "satisfaction_change_status": "change_status", "effectiveness_before": "e_before",
             "effectiveness_after": "e_after", "effectiveness_change": "e_change",
             "gap_before": "gap_before", "gap_after": "gap_after", "gap_change": "gap_change",
             "gap_status_before": "status_before", "gap_status_after": "status_after",
             "quadrant_before": "quadrant_before", "quadrant_after": "quadrant_after"},
         texts={"round_before": "The earlier round of the pair.",
                "round_after": "The later round of the pair (the round this row is published with)."}),
    Spec("fg_themes", "Focus-group themes per round x municipality x service x group type x theme "
         "x sentiment: sessions raising it and participants agreeing (counts, not shares).", """
         round:t municipality_code:t service_code:t group_type:t theme_code:t sentiment:t
         sessions:i sessions_held:i participants_agreed:i participants_present:i mentions:i""",
         indexes=RMS, round_key="round", dictionary={
             "group_type": "group", "theme_code": "theme", "sentiment": "sentiment",
             "sessions": "sessions", "sessions_held": "sessions_held",
             "participants_agreed": "participants_agreed",
             "participants_present": "participants_present", "mentions": "mentions"}),
    Spec("fg_quotes", "The focus groups' quote bank: every quote with its theme, service, sentiment, "
         "the speaker's sex, age group and role, the minute, the session and its date.", """
         round:t municipality_code:t village_code:t group_type:t session_date:d service_code:t
         theme_code:t sentiment:t quote:t participant_code:t participant_sex:t
         participant_age_group:t participant_role:t minute:i submission_id:i instance_name:t
         theme_index:i quote_index:i""", indexes=RMS, round_key="round", dictionary={
             "session_date": "session_date", "village_code": "village",
             "participant_code": "participant", "participant_sex": "sex",
             "participant_age_group": "age_group", "participant_role": "role", "minute": "minute",
             "quote": "quote", "instance_name": "instance_name", "group_type": "group",
             "theme_code": "theme", "sentiment": "sentiment"}),
    Spec("fieldwork_progress", "Fieldwork per round x municipality x village x day: interviews, "
         "refusals, rejections, completed and used, and the quota reached to date.", """
         round:t municipality_code:t village_code:t day:d quota:i interviews:i refusals:i
         rejected:i completed:i used:i enumerators:i completed_to_date:i used_to_date:i
         completed_share_of_quota:f used_share_of_quota:f""",
         indexes=("round municipality_code village_code day",), round_key="round",
         texts={"day": "Interview date (empty: no interview in the village yet).",
                "quota": "Interviews the sample plan asks of the village.",
                "completed_share_of_quota": "Completed interviews to date / quota (0-1).",
                "used_share_of_quota": "Interviews used in the scores to date / quota (0-1)."}),
    Spec("quality_flags", "Data-quality flags: one row per citizen interview x rule it breaks, "
         "naming the submission, with the measure, the threshold and whether the rule leaves the "
         "interview out of the scores.", """
         round:t municipality_code:t village_code:t enumerator_code:t interview_date:d
         submission_id:i instance_id:t instance_name:t rule:t detail:t measure:f threshold:f
         excludes:b""", indexes=("round municipality_code", "submission_id"), round_key="round",
         dictionary={"excludes": "excludes", "instance_name": "instance_name"},
         texts={"rule": "The quality rule (quality: in the study definition).",
                "detail": "What was found, in words.",
                "measure": "The value the rule measured.", "threshold": "The rule's threshold."}),
]

DIMENSIONS = [
    Spec("dim_municipality", "Municipalities of the study (geography.csv) with their rayon and "
         "oblast.", """
         municipality_code:t rayon_code:t oblast_code:t municipality_type:t features:t adults:i
         name_ru:t name_ky:t name_en:t rayon_ru:t rayon_ky:t rayon_en:t oblast_ru:t oblast_ky:t
         oblast_en:t""", indexes=("municipality_code",)),
    Spec("dim_village", "Villages of the study's municipalities (geography.csv).", """
         village_code:t municipality_code:t adults:i name_ru:t name_ky:t name_en:t""",
         indexes=("village_code",)),
    Spec("dim_population", "Adults by village x sex x age group (the weighting margins).", """
         village_code:t municipality_code:t sex:t age_group:t adults:i"""),
    Spec("dim_service", "Local services of the study definition.", """
         service_code:t service_key:i prefix:t core:b applies_to:t sort_order:i items:i indicators:i name_ru:t
         name_ky:t name_en:t""", indexes=("service_code",)),
    Spec("dim_service_municipality", "Which services apply in which municipality.", """
         municipality_code:t service_code:t""", indexes=("municipality_code service_code",)),
    Spec("dim_item", "Satisfaction items (questions) of each service.", """
         item_code:t item_key:i service_code:t weight:i sort_order:i text_ru:t text_ky:t text_en:t""",
         indexes=("service_code",)),
    Spec("dim_indicator", "Effectiveness indicators of each service, with floor, target and "
         "weight.", """
         indicator_code:t service_code:t unit:t answer:t direction:t floor:f target:f weight:f
         sort_order:i text_ru:t text_ky:t text_en:t unit_label_ru:t unit_label_ky:t
         unit_label_en:t evidence_ru:t evidence_ky:t evidence_en:t""", indexes=("service_code",),
         dictionary={"indicator_code": "indicator_code", "unit": "unit", "answer": "answer",
                     "direction": "direction", "floor": "floor", "target": "target",
                     "weight": "weight"}),
    Spec("dim_scale", "Every answer code of the study's scales with its labels; missing: left out "
         "of the base.", """
         scale:t code:t missing:b sort_order:i label_ru:t label_ky:t label_en:t"""),
    Spec("dim_enumerator", "Enumerators of the sample plan's teams.", """
         enumerator_code:t team_code:t supervisor:t municipalities:t"""),
    Spec("dim_round", "The rounds scored, in fieldwork order, with their first and last day.", """
         round:t first_day:d last_day:d dated_by:t interviews:i position:i""",
         indexes=("round",)),
]

PUBLISH_LOG = "publish_log"


def log_table(metadata: sa.MetaData) -> sa.Table:
    """What each publish wrote: when, which rounds, from which warehouse and study definition,
    the rows per table. Never a password (the URL is not kept at all)."""
    return sa.Table(
        PUBLISH_LOG, metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.Identity(),
                  primary_key=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False,
                  comment="When the publish committed (UTC)."),
        sa.Column("rounds", sa.Text, comment="The rounds replaced, comma-separated."),
        sa.Column("warehouse", sa.Text, comment="Path of the DuckDB warehouse published from."),
        sa.Column("study_code", sa.Text, comment="study.code of the study definition."),
        sa.Column("definition_round", sa.Text, comment="study.round of the study definition."),
        sa.Column("definition_hash", sa.Text,
                  comment="SHA-256 of the study definition as loaded (any change changes it)."),
        sa.Column("tables", sa.JSON, comment="Rows written per table (JSON object)."),
        sa.Column("rows", sa.BigInteger, comment="Rows written in all."),
        sa.Column("seconds", sa.Double, comment="How long the publish took."),
        sa.Column("aimak_version", sa.Text, comment="Version of aimak that published."),
        comment="One row per publish: what was written, when, and from where.")


# DuckDB column type -> the published type (anything else, lists and JSON too, is TEXT)
DUCKDB_TYPES = [
    (("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT",
      "UTINYINT"), sa.BigInteger),
    (("DOUBLE", "FLOAT", "REAL", "DECIMAL"), sa.Double),
    (("BOOLEAN",), sa.Boolean),
    (("DATE",), sa.Date),
    (("TIMESTAMP WITH TIME ZONE",), lambda: sa.DateTime(timezone=True)),
    (("TIMESTAMP",), sa.DateTime),
    (("TIME",), sa.Time),
]


def published_type(duckdb_type: str) -> sa.types.TypeEngine:
    """The published type of a DuckDB column type (see :data:`DUCKDB_TYPES`)."""
    for names, make in DUCKDB_TYPES:
        if any(duckdb_type == n or duckdb_type.startswith(f"{n}(") or
               (n == "TIMESTAMP" and duckdb_type.startswith("TIMESTAMP_")) for n in names):
            return make()
    return sa.Text()


def form_table(metadata: sa.MetaData, name: str, columns: list[tuple[str, str]], comment: str,
               indexed: tuple[str, ...] = ("_id", "_submission__id", "study_round",
                                           "municipality")) -> sa.Table:
    """A form's table as published: ``columns`` (name, DuckDB type) in the warehouse's order,
    indexed on the submission id, round and municipality where it has them."""
    table = sa.Table(name, metadata, *(sa.Column(c, published_type(t)) for c, t in columns),
                     comment=comment)
    for column in indexed:
        if column in table.c:
            sa.Index(index_name(name, [column]), table.c[column])
    return table
