"""The gap report's annex sheets: focus-group themes, quotes and scores; round changes (only when
an earlier round was compared); data quality (interviews left out or flagged, by municipality and
reason, and by enumerator and rule); the indicator list with floors and targets, and each
indicator's value in the assessments used. A sheet with nothing to show says so in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xlsxwriter.worksheet import Worksheet

from reports.gap_texts import SHEETS
from reports.workbook import Column, Share

if TYPE_CHECKING:
    from reports.gap_report import GapReport


def write_annex(r: GapReport) -> None:
    write_themes(r)
    write_quotes(r)
    write_group_scores(r)
    write_changes(r)
    write_quality(r)
    write_enumerators(r)
    write_indicators(r)
    write_indicator_values(r)


def _sheet(r: GapReport, key: str) -> Worksheet:
    return r.book.sheet(SHEETS[key].get(r.lang))


def _listing(r: GapReport, key: str, spec: Sequence[tuple[str, str]], rows: list[Sequence[Any]],
             nothing: str) -> tuple[Worksheet, int]:
    """A sheet holding one table; with no row, a sentence saying there is nothing (``nothing``:
    the WORDS key of what is missing). Returns the sheet and its next free row."""
    ws = _sheet(r, key)
    end = r.table(ws, 0, spec, rows)
    if not rows:
        end = r.empty(ws, end, r.w(nothing))
    return ws, end


def write_themes(r: GapReport) -> None:
    _listing(r, "themes", [
        ("municipality", "text"), ("service", "text"), ("group", "text"), ("theme", "text"),
        ("sentiment", "text"), ("sessions", "int"), ("sessions_held", "int"),
        ("participants_agreed", "int"), ("participants_present", "int"), ("mentions", "int")],
        [(t.municipality, t.service, t.group, t.theme, t.sentiment, t.sessions, t.sessions_held,
          t.participants_agreed, t.participants_present, t.mentions)
         for t in r.marts.themes(r.round.code)], "no_themes")


def write_quotes(r: GapReport) -> None:
    _listing(r, "quotes", [
        ("municipality", "text"), ("village", "text"), ("session_date", "date"), ("group", "text"),
        ("service", "text"), ("theme", "text"), ("sentiment", "text"), ("participant", "text"),
        ("sex", "text"), ("age_group", "text"), ("role", "text"), ("minute", "int"),
        ("quote", "wrap"), ("instance_name", "text")],
        [(q.municipality, q.village, q.session_date, q.group, q.service, q.theme, q.sentiment,
          q.participant_code, q.participant_sex, q.participant_age_group, q.participant_role,
          q.minute, q.quote, q.instance_name) for q in r.marts.quotes(r.round.code)], "no_quotes")


def write_group_scores(r: GapReport) -> None:
    scores = r.marts.group_scores(r.round.code)
    ws, end = _listing(r, "group_scores", [
        ("municipality", "text"), ("service", "text"), ("group", "text"),
        ("fg_satisfaction", "dec1"), ("fg_sessions", "int"), ("fg_satisfaction_index", "dec1"),
        ("survey_s", "share"), ("n", "int"), ("s_difference", "dec1"),
        ("fg_performance", "dec1"), ("fg_performance_index", "dec1"), ("effectiveness", "dec1"),
        ("e_difference", "dec1"), ("disagrees", "text")],
        [(g.municipality, g.service, g.group, g.satisfaction_score, g.satisfaction_sessions,
          g.satisfaction_index, r.share(g.survey_satisfaction, g.survey_n), g.survey_n,
          g.satisfaction_difference, g.performance_score, g.performance_index, g.effectiveness,
          g.performance_difference, r.yes_no(g.disagrees)) for g in scores], "no_group_scores")
    if scores:
        r.lines(ws, end + 1, r.footnotes()[:2])


def write_changes(r: GapReport) -> None:
    """Round changes: only when the round was compared with an earlier one."""
    previous = r.marts.previous_round(r.round.code)
    changes = r.marts.changes(r.round.code)
    if previous is None or not changes:
        return
    ws = _sheet(r, "changes")
    ws.write_string(0, 0, r.w("changes_title", before=previous.code, after=r.round.code),
                    r.book.title)
    end = r.table(ws, 2, [
        ("municipality", "text"), ("service", "text"), ("n_before", "int"), ("s_before", "share"),
        ("n_after", "int"), ("s_after", "share"), ("s_change", "share"),
        ("s_change_ci_low", "share"), ("s_change_ci_high", "share"), ("p_adjusted", "dec3"),
        ("change_status", "text"), ("e_before", "dec1"), ("e_after", "dec1"),
        ("e_change", "dec1"), ("gap_before", "dec1"), ("gap_after", "dec1"),
        ("gap_change", "dec1"), ("status_before", "text"), ("status_after", "text"),
        ("quadrant_before", "text"), ("quadrant_after", "text")],
        [(c.municipality, c.service, c.n_before, r.share(c.satisfaction_before, c.n_before),
          c.n_after, r.share(c.satisfaction_after, c.n_after),
          Share(c.satisfaction_change, c.suppressed, c.unreliable),
          Share(c.satisfaction_change_ci_low, c.suppressed, c.unreliable),
          Share(c.satisfaction_change_ci_high, c.suppressed, c.unreliable), c.p_value_adjusted,
          r.w(f"change.{c.satisfaction_change_status}") if c.satisfaction_change_status else None,
          c.effectiveness_before, c.effectiveness_after, c.effectiveness_change,
          None if c.suppressed else c.gap_before, None if c.suppressed else c.gap_after,
          c.gap_change, r.status(c.gap_status_before), r.status(c.gap_status_after),
          r.quadrant(c.quadrant_before), r.quadrant(c.quadrant_after)) for c in changes])
    r.lines(ws, end + 1, r.footnotes())


def write_quality(r: GapReport) -> None:
    _listing(r, "quality", [
        ("municipality", "text"), ("reason", "text"), ("excludes", "text"), ("excluded", "int"),
        ("flagged", "int"), ("interviews", "int")],
        [(e.municipality, r.c(f"reason.{e.reason}"), r.yes_no(e.excludes), e.excluded,
          e.flagged, e.interviews) for e in r.marts.exclusions(r.round.code)], "no_exclusions")


def write_enumerators(r: GapReport) -> None:
    ws = _sheet(r, "enumerators")
    rows = r.marts.enumerators(r.round.code)
    rules = r.method.quality_rules
    spec = [("enumerator", "text"), ("team", "text"), ("interviews", "int"),
            ("interviews_used", "int"), ("interviews_excluded", "int"), ("flagged", "int")]
    r.show(ws.name, [key for key, _ in spec] + ["rule_columns"])
    columns = [Column(r.header(key), kind) for key, kind in spec]
    columns += [Column(r.c(f"reason.{rule}"), "int") for rule in rules]
    end = r.book.table(ws, 0, columns, [
        (e.enumerator_code, e.team_code, e.interviews, e.used, e.excluded, e.flagged,
         *(e.rules.get(rule, 0) for rule in rules)) for e in rows])
    if not rows:
        r.empty(ws, end, r.w("no_interviews"))


def write_indicators(r: GapReport) -> None:
    r.table(_sheet(r, "indicators"), 0, [
        ("service", "text"), ("indicator_code", "text"), ("indicator", "wrap"), ("unit", "text"),
        ("answer", "text"), ("direction", "text"), ("floor", "text"), ("target", "text"),
        ("weight", "text"), ("evidence", "wrap")],
        [(i.service, i.indicator_code, i.text, i.unit, r.w(f"answer.{i.answer}"),
          r.w(f"direction.{i.direction}"), i.floor, i.target, i.weight, i.evidence)
         for i in r.marts.indicators()])


def write_indicator_values(r: GapReport) -> None:
    _listing(r, "indicator_values", [
        ("municipality", "text"), ("service", "text"), ("indicator", "wrap"), ("value", "text"),
        ("unit", "text"), ("floor", "text"), ("target", "text"), ("score", "dec1"),
        ("verified", "text")],
        [(s.municipality, s.service, s.text, _value(r, s.answer, s.value), s.unit, s.floor,
          s.target, s.score, r.yes_no(s.verified))
         for s in r.marts.indicator_scores(r.round.code)], "no_indicator_values")


def _value(r: GapReport, answer: str, value: str | None) -> float | str | None:
    """An indicator's recorded value: a number, or the yes/no answer in words."""
    if value is None:
        return None
    if answer == "yes_no":
        return r.marts.label("yes_no", value)
    try:
        return float(value)
    except ValueError:
        return value
