"""What the fieldwork workbook reads: one round's rows of the fieldwork and quality marts
(``fieldwork_summary``, ``fieldwork_progress``, ``fieldwork_quota``, ``fieldwork_sessions``,
``fct_interviews``, ``quality_flags``, ``exclusions``) and the names of places and enumerators
(``dim_municipality``, ``dim_village``, ``dim_enumerator``), as plain dicts.

Only reads; every number is the mart's own, except the sums a table adds up (a village's days,
an enumerator's interviews) and shares turned from 0–1 into the 0–100 the workbooks show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from aimak.errors import ConfigError, WarehouseError
from reports.texts import LANGUAGES

NEEDED = ("fieldwork_summary", "fieldwork_progress", "fieldwork_quota", "fieldwork_sessions",
          "fct_interviews", "quality_flags", "exclusions", "dim_municipality", "dim_village",
          "dim_enumerator", "study_method")

Row = dict[str, Any]


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """The query's rows as dicts by column name."""
    cursor = conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Places:
    """Names of the municipalities (with rayon and oblast) and villages in one language."""

    municipalities: dict[str, Row]  # code -> {name, rayon, oblast}
    villages: dict[str, str]  # code -> name

    def municipality(self, code: str | None) -> str:
        found = self.municipalities.get(code or "")
        return found["name"] if found else (code or "")

    def village(self, code: str | None) -> str:
        return self.villages.get(code or "", code or "")

    def order(self, code: str | None) -> tuple[str, str, str, str]:
        """Sort key: oblast, rayon, municipality by name (places outside the geography last)."""
        found = self.municipalities.get(code or "")
        if not found:
            return ("\uffff", "", "", code or "")
        return (found["oblast"], found["rayon"], found["name"], code or "")


@dataclass(frozen=True)
class Fieldwork:
    """One round's fieldwork as the marts hold it (see the module docstring)."""

    round: str
    places: Places
    data_day: dt.date | None  # the latest interview of the round
    pulled: dt.datetime | None  # the last time a sync stored submissions
    summary: list[Row]
    villages: list[Row]
    days: dict[tuple[str, str | None], dict[dt.date, int]]  # (municipality, village) -> completed
    quota: list[Row]
    sessions: list[Row]
    enumerators: list[Row]
    rule_counts: dict[tuple[str | None, str], int]  # (enumerator, rule) -> interviews
    flagged: list[Row]
    reasons: list[Row]
    excluded: list[Row]
    window: tuple[str | None, str | None]  # the definition round's fieldwork window


def read_fieldwork(conn: duckdb.DuckDBPyConnection, study_round: str, lang: str) -> Fieldwork:
    """Read one round (see the module docstring). Raises :class:`WarehouseError` when the
    warehouse was never scored and :class:`ConfigError` for a round it does not hold."""
    if lang not in LANGUAGES:
        raise ConfigError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}: choose one "
                          "with --lang or AIMAK_LANG.")
    present = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = current_schema()").fetchall()}
    missing = [name for name in NEEDED if name not in present]
    if missing:
        raise WarehouseError(f"the warehouse has no {', '.join(missing)} yet, so there is no "
                             "fieldwork to report: run 'aimak score' first (after 'aimak sync').")
    rounds = sorted(r[0] for r in conn.execute(
        "SELECT DISTINCT round FROM fieldwork_summary").fetchall())
    if study_round not in rounds:
        raise ConfigError(f"round {study_round!r} is not in the warehouse (it holds "
                          f"{', '.join(rounds) or 'no round'}): choose one of those with --round.")
    r = [study_round]
    places = _places(conn, lang)
    data_day = conn.execute("SELECT max(interview_date) FROM fct_interviews WHERE round = ?",
                            r).fetchone()[0]
    window = conn.execute("SELECT fieldwork_start, fieldwork_end FROM study_method").fetchone()
    return Fieldwork(
        round=study_round, places=places, data_day=data_day,
        pulled=_pulled(conn) if {"sync_cursor", "raw_submissions"} <= present else None,
        summary=_sorted(rows(conn, "SELECT * FROM fieldwork_summary WHERE round = ?", r), places),
        villages=_sorted(rows(conn, """
            SELECT municipality_code, village_code, any_value(quota) AS quota,
                   sum(interviews) AS interviews, sum(refusals) AS refusals,
                   sum(rejected) AS rejected, sum(completed) AS completed, sum(used) AS used,
                   count(day) AS days_worked, min(day) AS first_day, max(day) AS last_day
            FROM fieldwork_progress WHERE round = ?
            GROUP BY municipality_code, village_code
            ORDER BY village_code""", r), places),
        days=_days(conn, study_round),
        quota=_sorted(rows(conn, "SELECT * FROM fieldwork_quota WHERE round = ? "
                                 "ORDER BY village_code, sex, age_group", r), places),
        sessions=_sorted(rows(conn, "SELECT * FROM fieldwork_sessions WHERE round = ? "
                                    "ORDER BY activity DESC, group_type", r), places),
        enumerators=rows(conn, """
            WITH done AS (
                SELECT enumerator_code,
                       count(*) AS interviews,
                       count(*) FILTER (WHERE completed) AS completed,
                       count(*) FILTER (WHERE used) AS used,
                       count(*) FILTER (WHERE NOT used) AS left_out,
                       count(*) FILTER (WHERE len(flags) > 0) AS flagged,
                       median(duration_seconds) FILTER (WHERE completed) / 60 AS median_minutes,
                       100 * count(*) FILTER (WHERE consent = 'yes' AND gps_latitude IS NOT NULL
                                                AND gps_longitude IS NOT NULL)
                           / nullif(count(*) FILTER (WHERE consent = 'yes'), 0) AS gps_share,
                       count(DISTINCT interview_date) AS days_worked,
                       min(interview_date) AS first_day, max(interview_date) AS last_day,
                       list(DISTINCT municipality_code ORDER BY municipality_code)
                           FILTER (WHERE municipality_code IS NOT NULL) AS worked_in
                FROM fct_interviews WHERE round = ? GROUP BY enumerator_code
            )
            SELECT coalesce(e.enumerator_code, d.enumerator_code) AS enumerator_code,
                   e.team_code, e.supervisor,
                   coalesce(d.worked_in, string_split(e.municipalities, ' ')) AS municipalities,
                   coalesce(d.interviews, 0) AS interviews,
                   coalesce(d.completed, 0) AS completed, coalesce(d.used, 0) AS used,
                   coalesce(d.left_out, 0) AS left_out, coalesce(d.flagged, 0) AS flagged,
                   100 * d.flagged / nullif(d.interviews, 0) AS flagged_share,
                   d.median_minutes, d.gps_share, coalesce(d.days_worked, 0) AS days_worked,
                   d.first_day, d.last_day
            FROM dim_enumerator e FULL OUTER JOIN done d
                ON d.enumerator_code IS NOT DISTINCT FROM e.enumerator_code
            ORDER BY e.team_code NULLS LAST, enumerator_code NULLS LAST""", r),
        rule_counts={(e, rule): n for e, rule, n in conn.execute(
            "SELECT enumerator_code, rule, count(DISTINCT submission_id) FROM quality_flags "
            "WHERE round = ? GROUP BY ALL", r).fetchall()},
        flagged=rows(conn, """
            SELECT q.interview_date, q.municipality_code, q.village_code, q.enumerator_code,
                   q.instance_name, q.instance_id, q.submission_id, q.rule, q.measure,
                   q.threshold, q.excludes, NOT i.used AS left_out, i.excluded_reason
            FROM quality_flags q JOIN fct_interviews i USING (submission_id)
            CROSS JOIN study_method m
            WHERE q.round = ?
            ORDER BY q.interview_date DESC NULLS LAST, q.municipality_code, q.village_code,
                     q.enumerator_code, q.submission_id, list_position(m.quality_rules, q.rule)""",
                     r),
        reasons=_sorted(rows(conn, "SELECT * FROM exclusions WHERE round = ?", r), places),
        excluded=rows(conn, """
            SELECT interview_date, municipality_code, village_code, enumerator_code,
                   instance_name, instance_id, submission_id, excluded_reason,
                   list_filter(flags, lambda f: f <> excluded_reason) AS other_flags
            FROM fct_interviews WHERE round = ? AND NOT used
            ORDER BY interview_date DESC NULLS LAST, municipality_code, village_code,
                     enumerator_code, submission_id""", r),
        window=(window[0], window[1]) if window else (None, None),
    )


def _places(conn: duckdb.DuckDBPyConnection, lang: str) -> Places:
    # lang is one of LANGUAGES (checked by the caller), so it may name a column
    municipalities = {r["code"]: r for r in rows(conn, f"""
        SELECT municipality_code AS code, name_{lang} AS name, rayon_{lang} AS rayon,
               oblast_{lang} AS oblast FROM dim_municipality""")}
    villages = dict(conn.execute(f"SELECT village_code, name_{lang} FROM dim_village").fetchall())
    return Places(municipalities, villages)


def _sorted(found: list[Row], places: Places) -> list[Row]:
    """The rows by place (oblast, rayon, municipality); the query's order within a municipality."""
    return sorted(found, key=lambda row: places.order(row["municipality_code"]))


def _days(conn: duckdb.DuckDBPyConnection, study_round: str
          ) -> dict[tuple[str, str | None], dict[dt.date, int]]:
    days: dict[tuple[str, str | None], dict[dt.date, int]] = {}
    for m, v, day, completed in conn.execute(
            "SELECT municipality_code, village_code, day, completed FROM fieldwork_progress "
            "WHERE round = ? AND day IS NOT NULL", [study_round]).fetchall():
        days.setdefault((m, v), {})[day] = completed
    return days


def _pulled(conn: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When a sync last stored submissions (its cursor moved or it saw a record again)."""
    return conn.execute("""
        SELECT max(t) FROM (SELECT max(updated_at) AS t FROM sync_cursor
                            UNION ALL SELECT max(last_seen) FROM raw_submissions)""").fetchone()[0]
