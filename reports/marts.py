"""The marts as the deliverables read them: typed rows with every code's label in one language.

The gap report, the scorecards, the drafted recommendations and the study report read the
warehouse through :class:`Marts` only, so the SQL over the marts lives here and nowhere else in
``reports/``. Names come from the ``dim_*`` tables (``name_ru``, ``name_ky``, ``name_en``) and
answer codes (group types, themes, sentiments, roles, sexes, age groups) from ``dim_scale``; a
code without a label shows as itself, never as a blank.

A warehouse that was never scored, or a round that has no scores, is a :class:`ReportError`
saying what to run; anything else that exists (one round or two, a municipality without an LSG
assessment, a service nobody uses, no focus group at all) comes back as what it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

import duckdb

from aimak.errors import AimakError
from forms.definition import Definition
from reports.mart_rows import (
    Cell,
    Change,
    Enumerator,
    Exclusion,
    FormCount,
    GroupScore,
    Indicator,
    IndicatorScore,
    ItemScore,
    Mention,
    Method,
    MunicipalityScore,
    Place,
    Quote,
    Round,
    ScaleLabel,
    Theme,
)
from reports.texts import LANGUAGES
from warehouse.db import table_exists

R = TypeVar("R")


class ReportError(AimakError):
    """The warehouse holds nothing to report on (never scored, or not the round asked for)."""


class Marts:
    """Typed, labelled reads of the marts of one scored warehouse, in ``lang``; the study
    ``definition``, when given, also names the sexes and age groups (``dim_scale`` does not)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, lang: str,
                 definition: Definition | None = None):
        if lang not in LANGUAGES:
            raise ReportError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}. Fix: pass "
                              "--lang ru, ky or en (or set AIMAK_LANG).")
        self.conn, self.lang, self.definition = conn, lang, definition
        if not table_exists(self.conn, "gap_scores") or not table_exists(self.conn, "dim_round"):
            raise ReportError("the warehouse has no gap scores yet: nothing to report. Fix: run "
                              "'aimak score' (after 'aimak sync') first.")
        self._labels: dict[tuple[str, str], str] | None = None
        self._method: Method | None = None

    # --- plumbing ----------------------------------------------------------------------------

    def _fetch(self, kind: type[R], sql: str, params: Sequence[Any] = ()) -> list[R]:
        """Rows of ``sql`` as ``kind`` (a dataclass), fields taken by column name; ``{lang}`` in
        the SQL is the report's language (one of :data:`LANGUAGES`, so safe to splice)."""
        cursor = self.conn.execute(sql.replace("{lang}", self.lang), list(params))
        names = [d[0] for d in cursor.description]
        fields = [f.name for f in dataclasses.fields(kind)]  # type: ignore[arg-type]
        at = [names.index(f) for f in fields]
        return [kind(*(row[i] for i in at)) for row in cursor.fetchall()]

    def label(self, scale: str, code: str | None) -> str | None:
        """The label of answer ``code`` of ``scale`` (``dim_scale``), or the code itself."""
        if code is None:
            return None
        if self._labels is None:
            self._labels = {(s, c): label for s, c, label in self.conn.execute(
                f"SELECT scale, code, label_{self.lang} FROM dim_scale").fetchall()}
            if self.definition is not None:
                self._labels.update({("sex", s.code): s.label.get(self.lang)
                                     for s in self.definition.sexes})
                self._labels.update({("age_group", a.code): a.label.get(self.lang)
                                     for a in self.definition.age_groups})
        return self._labels.get((scale, code), code)

    # --- rounds and settings -----------------------------------------------------------------

    def rounds(self) -> list[Round]:
        """Every scored round, in fieldwork order (undated ones last, by code)."""
        return self._fetch(Round, """
            SELECT g.round AS code, d.position, d.first_day, d.last_day,
                   coalesce(d.interviews, 0) AS interviews
            FROM (SELECT DISTINCT round FROM gap_scores) g LEFT JOIN dim_round d USING (round)
            ORDER BY d.position NULLS LAST, g.round""")

    def round(self, code: str | None = None) -> Round:
        """The round ``code``, or the latest scored one; a :class:`ReportError` names the rounds
        scored when ``code`` is not one of them."""
        rounds = self.rounds()
        if not rounds:
            raise ReportError("the warehouse is scored but holds no round yet (no citizen "
                              "interview or LSG assessment of the study's forms). Fix: run "
                              "'aimak sync' then 'aimak score'.")
        if code is None:
            dated = [r for r in rounds if r.position is not None]
            return dated[-1] if dated else rounds[-1]
        for r in rounds:
            if r.code == code:
                return r
        raise ReportError(f"round {code!r} has no scores (rounds scored: "
                          f"{', '.join(r.code for r in rounds)}). Fix: pass one of those rounds.")

    def previous_round(self, round_code: str) -> Round | None:
        """The round compared with ``round_code`` in ``gap_changes`` (the one before it)."""
        row = self.conn.execute("SELECT DISTINCT round_before FROM gap_changes WHERE round_after = ?",
                                [round_code]).fetchone()
        return next((r for r in self.rounds() if row and r.code == row[0]), None)

    def method(self) -> Method:
        """The study's method settings the scores were made with (read once)."""
        if self._method is None:
            self._method = self._fetch(Method, "SELECT * FROM study_method")[0]
        return self._method

    def pulled_at(self) -> dt.datetime | None:
        """When the data was last pulled from the server: the latest time a sync saw a
        submission or moved a form's cursor (None: no sync recorded)."""
        if not table_exists(self.conn, "raw_submissions"):
            return None
        return self.conn.execute("""
            SELECT greatest((SELECT max(last_seen) FROM raw_submissions),
                            (SELECT max(updated_at) FROM sync_cursor))""").fetchone()[0]

    def satisfaction_scale(self) -> list[ScaleLabel]:
        return self._fetch(ScaleLabel, """
            SELECT code, label_{lang} AS label, missing FROM dim_scale
            WHERE scale = 'satisfaction' ORDER BY sort_order""")

    # --- places ------------------------------------------------------------------------------

    _PLACE = """SELECT municipality_code AS code, name_{lang} AS name, rayon_{lang} AS rayon,
                       oblast_{lang} AS oblast FROM dim_municipality"""

    def municipalities(self, round_code: str) -> list[Place]:
        """The municipalities scored in the round, by oblast, rayon and name."""
        return self._fetch(Place, f"""{self._PLACE} WHERE municipality_code IN
            (SELECT municipality_code FROM gap_scores WHERE round = ?)
            ORDER BY oblast, rayon, name, code""", [round_code])

    def unscored_municipalities(self, round_code: str) -> list[Place]:
        """The study's municipalities with no interview and no LSG assessment in the round."""
        return self._fetch(Place, f"""{self._PLACE} WHERE municipality_code NOT IN
            (SELECT municipality_code FROM gap_scores WHERE round = ?)
            ORDER BY oblast, rayon, name, code""", [round_code])

    # --- scores ------------------------------------------------------------------------------

    def cells(self, round_code: str, municipality_code: str | None = None) -> list[Cell]:
        """The gap cells of the round (of one municipality), by municipality then service."""
        return self._fetch(Cell, """
            SELECT g.*, m.name_{lang} AS municipality, s.name_{lang} AS service,
                   s.sort_order AS service_order, i.n AS importance_n
            FROM gap_scores g
            JOIN dim_municipality m USING (municipality_code)
            JOIN dim_service s USING (service_code)
            LEFT JOIN fct_importance i USING (round, municipality_code, service_code)
            WHERE g.round = ? AND (CAST(? AS VARCHAR) IS NULL OR g.municipality_code = ?)
            ORDER BY m.oblast_{lang}, m.rayon_{lang}, m.name_{lang}, g.municipality_code,
                     s.sort_order""", [round_code, municipality_code, municipality_code])

    def municipality_scores(self, round_code: str) -> list[MunicipalityScore]:
        return self._fetch(MunicipalityScore, """
            SELECT s.*, m.name_{lang} AS municipality FROM municipality_scores s
            JOIN dim_municipality m USING (municipality_code)
            WHERE s.round = ?
            ORDER BY m.oblast_{lang}, m.rayon_{lang}, m.name_{lang}, s.municipality_code""",
            [round_code])

    def changes(self, round_code: str) -> list[Change]:
        """The cells of ``round_code`` compared with the round before it (none: one round)."""
        return self._fetch(Change, """
            SELECT c.*, m.name_{lang} AS municipality, s.name_{lang} AS service
            FROM gap_changes c
            JOIN dim_municipality m USING (municipality_code)
            JOIN dim_service s USING (service_code)
            WHERE c.round_after = ?
            ORDER BY m.name_{lang}, c.municipality_code, s.sort_order""", [round_code])

    def item_scores(self, round_code: str) -> list[ItemScore]:
        return self._fetch(ItemScore, """
            SELECT f.municipality_code, f.service_code, f.item_code, d.text_{lang} AS text, f.n,
                   100 * f.top_box_share AS satisfaction
            FROM fct_item_scores f JOIN dim_item d USING (item_code, service_code)
            WHERE f.round = ? ORDER BY f.municipality_code, d.sort_order""", [round_code])

    # --- the LSG assessment ------------------------------------------------------------------

    def indicators(self) -> list[Indicator]:
        return self._fetch(Indicator, """
            SELECT d.service_code, s.name_{lang} AS service, d.indicator_code,
                   d.text_{lang} AS text, d.unit_label_{lang} AS unit, d.answer, d.direction,
                   d.floor, d.target, d.weight, d.evidence_{lang} AS evidence
            FROM dim_indicator d JOIN dim_service s USING (service_code)
            ORDER BY d.sort_order""")

    def indicator_scores(self, round_code: str) -> list[IndicatorScore]:
        return self._fetch(IndicatorScore, """
            SELECT f.municipality_code, m.name_{lang} AS municipality, f.service_code,
                   s.name_{lang} AS service, f.indicator_code, d.text_{lang} AS text,
                   d.unit_label_{lang} AS unit, f.answer, f.value, f.floor, f.target, f.score, f.verified
            FROM fct_indicator_scores f
            JOIN dim_indicator d USING (indicator_code)
            JOIN dim_service s ON s.service_code = f.service_code
            JOIN dim_municipality m USING (municipality_code)
            WHERE f.round = ?
            ORDER BY m.name_{lang}, f.municipality_code, d.sort_order""", [round_code])

    # --- focus groups ------------------------------------------------------------------------

    def themes(self, round_code: str) -> list[Theme]:
        """Themes by municipality, service, group type; the most agreed first."""
        return self._fetch(Theme, """
            SELECT t.municipality_code, t.service_code, t.group_type, t.theme_code,
                   t.sessions, t.sessions_held, t.participants_agreed, t.participants_present,
                   t.mentions, m.name_{lang} AS municipality,
                   coalesce(s.name_{lang}, t.service_code) AS service,
                   coalesce(g.label_{lang}, t.group_type) AS "group",
                   coalesce(c.label_{lang}, t.theme_code) AS theme,
                   t.sentiment AS sentiment_code,
                   coalesce(e.label_{lang}, t.sentiment) AS sentiment
            FROM fg_themes t
            JOIN dim_municipality m USING (municipality_code)
            LEFT JOIN dim_service s USING (service_code)
            LEFT JOIN dim_scale g ON g.scale = 'fg_group_type' AND g.code = t.group_type
            LEFT JOIN dim_scale c ON c.scale = 'fg_theme' AND c.code = t.theme_code
            LEFT JOIN dim_scale e ON e.scale = 'sentiment' AND e.code = t.sentiment
            WHERE t.round = ?
            ORDER BY m.name_{lang}, t.municipality_code, s.sort_order, t.group_type,
                     t.participants_agreed DESC, t.theme_code""", [round_code])

    def mentions(self, round_code: str) -> list[Mention]:
        return self._fetch(Mention, """
            SELECT municipality_code, service_code, group_type, theme_code,
                   sentiment AS sentiment_code, agreed, participants, summary, recommendation
            FROM fct_fg_mentions WHERE round = ?
            ORDER BY municipality_code, service_code, agreed DESC, submission_id, theme_index""",
            [round_code])

    def quotes(self, round_code: str) -> list[Quote]:
        rows = self._fetch(Quote, """
            SELECT q.municipality_code, m.name_{lang} AS municipality,
                   v.name_{lang} AS village, q.session_date, q.group_type AS "group",
                   coalesce(s.name_{lang}, q.service_code) AS service, q.theme_code AS theme,
                   q.sentiment, q.participant_code, q.participant_sex, q.participant_age_group,
                   q.participant_role, q.minute, q.quote, q.instance_name
            FROM fg_quotes q
            JOIN dim_municipality m USING (municipality_code)
            LEFT JOIN dim_village v USING (village_code)
            LEFT JOIN dim_service s USING (service_code)
            WHERE q.round = ?
            ORDER BY m.name_{lang}, q.municipality_code, s.sort_order, q.session_date,
                     q.submission_id, q.quote_index""", [round_code])
        return [dataclasses.replace(
            q, group=self.label("fg_group_type", q.group), theme=self.label("fg_theme", q.theme),
            sentiment=self.label("sentiment", q.sentiment),
            participant_sex=self.label("sex", q.participant_sex),
            participant_age_group=self.label("age_group", q.participant_age_group),
            participant_role=self.label("fg_role", q.participant_role)) for q in rows]

    def group_scores(self, round_code: str) -> list[GroupScore]:
        rows = self._fetch(GroupScore, """
            SELECT f.*, m.name_{lang} AS municipality, s.name_{lang} AS service,
                   f.group_type AS "group"
            FROM fg_scores f
            JOIN dim_municipality m USING (municipality_code)
            JOIN dim_service s USING (service_code)
            WHERE f.round = ?
            ORDER BY m.name_{lang}, f.municipality_code, s.sort_order, f.group_type""",
            [round_code])
        return [dataclasses.replace(r, group=self.label("fg_group_type", r.group)) for r in rows]

    # --- who counts --------------------------------------------------------------------------

    def focus_group_sessions(self, round_code: str) -> dict[str, int]:
        """Focus-group sessions that count, per municipality of the round."""
        return dict(self.conn.execute("""
            SELECT municipality_code, count(*) FROM stg_focus_groups
            WHERE round = ? AND excluded_reason IS NULL GROUP BY ALL""", [round_code]).fetchall())

    def form_counts(self, round_code: str) -> list[FormCount]:
        """Citizen interviews, LSG assessments and focus-group sessions of the round: received
        (live on the server), used, and left out by reason."""
        out = []
        for form, table in (("citizen_survey", "fct_interviews"),
                            ("lsg_assessment", "stg_assessments"),
                            ("focus_group", "stg_focus_groups")):
            reasons = dict(self.conn.execute(f"""
                SELECT coalesce(excluded_reason, ''), count(*) FROM {table}
                WHERE round = ? GROUP BY ALL""", [round_code]).fetchall())
            used = reasons.pop("", 0)
            out.append(FormCount(form, used + sum(reasons.values()), used,
                                 dict(sorted(reasons.items()))))
        return out

    def exclusions(self, round_code: str) -> list[Exclusion]:
        return self._fetch(Exclusion, """
            SELECT e.municipality_code, m.name_{lang} AS municipality, e.reason, e.excludes,
                   e.excluded, e.flagged, e.interviews
            FROM exclusions e JOIN dim_municipality m USING (municipality_code)
            CROSS JOIN study_method sm
            WHERE e.round = ?
            ORDER BY m.name_{lang}, e.municipality_code,
                     coalesce(list_position(['not_approved', 'no_consent', 'outside_geography',
                                             'no_profile'], e.reason),
                              4 + list_position(sm.quality_rules, e.reason))""", [round_code])

    def enumerators(self, round_code: str) -> list[Enumerator]:
        """Every enumerator with an interview in the round, with counts per quality rule."""
        rules = self.method().quality_rules
        rows = self.conn.execute("""
            SELECT i.enumerator_code, any_value(d.team_code), count(*),
                   count(*) FILTER (WHERE i.used), count(*) FILTER (WHERE NOT i.used),
                   count(*) FILTER (WHERE len(i.flags) > 0),
                   list(i.flags)
            FROM fct_interviews i LEFT JOIN dim_enumerator d USING (enumerator_code)
            WHERE i.round = ?
            GROUP BY i.enumerator_code ORDER BY i.enumerator_code NULLS LAST""",
            [round_code]).fetchall()
        out = []
        for code, team, interviews, used, excluded, flagged, flag_lists in rows:
            counts = dict.fromkeys(rules, 0)
            for flags in flag_lists:
                for rule in flags:
                    counts[rule] = counts.get(rule, 0) + 1
            out.append(Enumerator(code or "?", team, interviews, used, excluded, flagged, counts))
        return out
