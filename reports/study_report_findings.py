"""The study report's findings: each service across the municipalities, then one chapter per
municipality (its table of S with interval and base, E with coverage, gap, status and quadrant;
the chart of S beside E and the quadrant chart; what the focus groups said, with a few short
quotes as plain text; the changes since the previous round when there is one), and the drafted
recommendations per municipality, ordered by importance, each carrying its draft mark.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from reports.gap_charts import Point
from reports.mart_rows import Cell, Place, Quote
from reports.report_charts import ChartPainter

if TYPE_CHECKING:
    from reports.study_report import StudyReport

QUOTES = 5  # quotes per municipality at most
QUOTE_CHARS = 300  # longer quotes stay in the gap report's quote bank
CHART_CM = 15.5
QUADRANTS = ("maintain", "communicate", "expectation_risk", "fix_first")


def write_findings(r: StudyReport) -> None:
    """Every service across the municipalities: a sentence on the spread, then a table."""
    doc, m = r.doc, r.method
    doc.heading(r.w("h.findings"), 1)
    by_service: dict[str, list[Cell]] = defaultdict(list)
    for cell in r.cells:
        by_service[cell.service_code].append(cell)
    for cells in sorted(by_service.values(), key=lambda cs: cs[0].service_order):
        doc.heading(cells[0].service, 2)
        shown = [c for c in cells if c.satisfaction is not None and not c.suppressed]
        if shown:
            low = min(shown, key=lambda c: c.satisfaction)
            high = max(shown, key=lambda c: c.satisfaction)
            doc.paragraph(r.w(
                "v.range", low=r.percent(low.satisfaction, False, low.unreliable),
                low_name=low.municipality, high=r.percent(high.satisfaction, False, high.unreliable),
                high_name=high.municipality, est=sum(c.gap_established for c in cells),
                k=len(cells), e=sum(c.effectiveness is not None for c in cells)))
        else:
            doc.paragraph(r.w("v.no_s", min=m.suppress_below))
        doc.table([r.c("municipality"), r.header("n"), r.header("satisfaction"), r.w("ci"),
                   r.header("effectiveness"), r.header("gap"),
                   r.header("status"), r.header("quadrant")],
                  [(c.municipality, c.n, r.share(c.satisfaction, c.suppressed, c.unreliable),
                    r.interval(c.satisfaction_ci_low, c.satisfaction_ci_high, c.suppressed,
                               c.unreliable),
                    r.number(c.effectiveness),
                    r.share(c.gap, c.suppressed, c.unreliable, signed=True),
                    r.status(c.gap_status), r.quadrant(c.quadrant)) for c in cells],
                  widths=[3, 1, 1.6, 2, 1.6, 1.3, 2.8, 2.8], numeric=range(1, 6))
    doc.notes(r.footnotes())
    doc.page_break()


def write_municipalities(r: StudyReport) -> None:
    r.doc.heading(r.w("h.municipalities"), 1)
    quotes: dict[str, list[Quote]] = defaultdict(list)
    for q in r.marts.quotes(r.round.code):
        quotes[q.municipality_code].append(q)
    themes = defaultdict(list)
    for t in r.marts.themes(r.round.code):
        themes[t.municipality_code].append(t)
    previous = r.marts.previous_round(r.round.code)
    changes = defaultdict(list)
    for c in r.marts.changes(r.round.code) if previous else ():
        changes[c.municipality_code].append(c)
    sessions = r.marts.focus_group_sessions(r.round.code)
    charts = ChartPainter(r.w("chart_s"), r.w("chart_e"), r.method.quadrant_cut,
                          [r.c(f"quadrant.{q}") for q in QUADRANTS])
    for place in r.places:
        write_municipality(r, place, sessions.get(place.code, 0), charts)
        write_focus_groups(r, themes[place.code], quotes[place.code])
        if previous is not None:
            write_changes(r, previous.code, changes[place.code])
        r.doc.page_break()


def ordered_cells(r: StudyReport, place: Place) -> list[Cell]:
    """The municipality's cells in the order of its drafts (by importance to residents)."""
    by_service = {c.service_code: c for c in r.by_place[place.code]}
    return [by_service[d.service_code] for d in r.drafts.get(place.code, [])]


def write_municipality(r: StudyReport, place: Place, sessions: int,
                       charts: ChartPainter) -> None:
    doc, score = r.doc, r.scores.get(place.code)
    cells = ordered_cells(r, place)
    doc.heading(place.name, 2)
    assessed = any(c.assessed for c in cells)
    doc.paragraph(f"{r.w('place', rayon=place.rayon, oblast=place.oblast)} · "
                  f"{r.w('round', round=r.round.code)}")
    doc.paragraph(r.w("interviews_line", used=score.interviews_used if score else 0,
                      all=score.interviews if score else 0, sessions=sessions))
    doc.paragraph(r.w("assessed_yes" if assessed else "assessed_no"), bold=not assessed)
    doc.heading(r.w("h.scores"), 3)
    doc.paragraph(r.w("m.scores_note"))
    ranks = {d.service_code: d.rank for d in r.drafts.get(place.code, [])}
    doc.table([r.header("priority"), r.header("service"), r.header("n"), "S, %", r.w("ci"),
               r.header("importance"), "E", r.header("coverage"), r.header("gap"),
               r.header("status"), r.header("quadrant")],
              [(ranks.get(c.service_code) or "—", c.service, c.n,
                r.share(c.satisfaction, c.suppressed, c.unreliable),
                r.interval(c.satisfaction_ci_low, c.satisfaction_ci_high, c.suppressed,
                           c.unreliable),
                r.base_share(c.importance, c.importance_n, 0), r.number(c.effectiveness),
                f"{c.effectiveness_indicators or 0} / {c.effectiveness_indicators_expected or 0}"
                if c.assessed else "—",
                r.share(c.gap, c.suppressed, c.unreliable, signed=True), r.status(c.gap_status),
                r.quadrant(c.quadrant)) for c in cells],
              widths=[0.9, 2.2, 0.9, 1.3, 2.1, 1.2, 1.3, 1.2, 1.5, 2.6, 2.6], numeric=[0, *range(2, 9)])
    doc.notes(r.footnotes())
    doc.heading(r.w("h.charts"), 3)
    points = [Point(c.service, None if c.suppressed else c.satisfaction, c.effectiveness)
              for c in sorted(cells, key=lambda c: c.service_order)]  # one frame for them all
    if any(p.satisfaction is not None or p.effectiveness is not None for p in points):
        doc.picture(charts.bars(points), CHART_CM, r.w("chart_bars"))
    else:
        doc.paragraph(r.w("m.no_bars"))
    if any(p.satisfaction is not None and p.effectiveness is not None for p in points):
        doc.picture(charts.quadrant(points), CHART_CM * 0.8, r.w("chart_quadrants"))
    else:
        doc.paragraph(r.w("m.no_quadrant"))
    doc.notes([r.w("chart_note")])


def write_focus_groups(r: StudyReport, themes: list, quotes: list[Quote]) -> None:
    doc = r.doc
    doc.heading(r.w("h.focus_groups"), 3)
    if not themes:
        doc.paragraph(r.w("m.no_themes"))
    doc.bullets(r.w("m.theme", service=t.service, group=t.group, theme=t.theme,
                    sentiment=t.sentiment, k=t.sessions, h=t.sessions_held,
                    a=t.participants_agreed, p=t.participants_present) for t in themes)
    chosen = pick_quotes(quotes)
    if chosen:
        doc.paragraph(r.w("m.quotes"), bold=True)
    for q in chosen:
        who = ", ".join(x for x in (q.participant_role, q.group, q.service) if x)
        doc.runs([(f"«{q.quote}»", "italic"), (r.w("m.speaker", who=who), "")], "Aimak Quote")


def pick_quotes(quotes: list[Quote]) -> list[Quote]:
    """At most :data:`QUOTES` short quotes, taking each (service, theme) in turn so that one
    talkative theme does not fill the list."""
    queues: dict[tuple[str, str], list[Quote]] = defaultdict(list)
    for q in quotes:
        if len(q.quote) <= QUOTE_CHARS:
            queues[q.service, q.theme].append(q)
    chosen: list[Quote] = []
    while len(chosen) < QUOTES and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < QUOTES:
                chosen.append(queue.pop(0))
    return chosen


def write_changes(r: StudyReport, before: str, changes: list) -> None:
    doc = r.doc
    doc.heading(r.w("h.changes"), 3)
    if not changes:
        doc.paragraph(r.w("m.no_change_rows", before=before))
        return
    doc.paragraph(r.w("changes_title", before=before, after=r.round.code))
    doc.table([r.header("service"), r.header("n_before"), r.header("s_before"),
               r.header("n_after"), r.header("s_after"), r.header("s_change"),
               r.header("change_status"), r.header("gap_before"), r.header("gap_after")],
              [(c.service, c.n_before, r.base_share(c.satisfaction_before, c.n_before),
                c.n_after, r.base_share(c.satisfaction_after, c.n_after),
                r.share(c.satisfaction_change, c.suppressed, c.unreliable, signed=True),
                r.w(f"change.{c.satisfaction_change_status}")
                if c.satisfaction_change_status else "—",
                "*" if c.suppressed else r.number(c.gap_before, signed=True),
                "*" if c.suppressed else r.number(c.gap_after, signed=True)) for c in changes],
              widths=[2.6, 1, 1.3, 1, 1.3, 1.4, 2.4, 1.3, 1.3], numeric=range(1, 6))


def write_recommendations(r: StudyReport) -> None:
    doc = r.doc
    doc.heading(r.w("h.recommendations"), 1)
    doc.paragraph(r.w("r.intro"))
    doc.paragraph(r.c("draft"), bold=True)
    for place in r.places:
        doc.heading(place.name, 2)
        for i, draft in enumerate(r.drafts.get(place.code, []), start=1):
            doc.runs([(f"{i}. «{draft.service}». ", "bold"), (draft.text, "")])
    doc.page_break()
