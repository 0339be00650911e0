"""The study report's fieldwork chapter: the agreed schedule beside what was done (days, the
interviews against quota, the LSG assessment and focus groups against plan, per municipality),
the sample by sex × age group against its quota, and what was left out of the scores and why.

The agreed schedule is :func:`forms.schedule.schedule_fieldwork` laid from the definition's
``study.fieldwork_start`` (or, when it sets none, from the round's first day of data); what was
done comes from the fieldwork marts (:func:`reports.fieldwork_marts.read_fieldwork`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from aimak.errors import AimakError
from forms.schedule import FieldworkSchedule, schedule_fieldwork
from reports.fieldwork_marts import Fieldwork, read_fieldwork
from reports.fieldwork_texts import FIELDWORK
from reports.gap_texts import FORMS
from reports.texts import tr

if TYPE_CHECKING:
    from reports.study_report import StudyReport


def agreed_schedule(r: StudyReport) -> tuple[FieldworkSchedule | None, str]:
    """The agreed schedule and a sentence saying where it starts (or why there is none)."""
    study = r.definition.study
    start = None if study.fieldwork_start else r.round.first_day
    try:
        schedule = schedule_fieldwork(r.definition, r.geography, start=start, today=start)
    except AimakError as error:
        return None, r.w("f.no_plan", error=str(error))
    source = r.w("f.source_definition" if study.fieldwork_start else "f.source_data")
    return schedule, r.w("f.plan_from", start=schedule.start, source=source,
                         first=schedule.window[0], last=schedule.window[-1],
                         days=len(schedule.window))


def fieldwork_done(r: StudyReport) -> Fieldwork | None:
    """The round's fieldwork marts (None: the round has no fieldwork rows, e.g. no interview)."""
    try:
        return read_fieldwork(r.marts.conn, r.round.code, r.lang)
    except AimakError:
        return None


def write_fieldwork(r: StudyReport) -> None:
    doc = r.doc

    def f(key: str) -> str:
        return tr(key, r.lang, FIELDWORK)

    doc.heading(r.w("h.fieldwork"), 1)
    doc.heading(r.w("h.schedule"), 2)
    schedule, sentence = r.schedule
    doc.paragraph(sentence)
    work = r.fieldwork
    stays = {s.municipality: s for s in schedule.stays} if schedule else {}
    if work is None or not work.summary:
        doc.paragraph(r.w("f.no_interviews"))
    else:
        rows = []
        for row in work.summary:
            stay = stays.get(row["municipality_code"])
            rows.append((
                work.places.municipality(row["municipality_code"]),
                stay.team if stay else "—",
                f"{r.days(stay.days[0], stay.days[-1])} ({len(stay.days)})" if stay else "—",
                f"{r.days(row['first_day'], row['last_day'])} ({row['days_worked']})"
                if row["first_day"] else "—",
                row["quota"], row["completed"], row["used"],
                r.number(100 * row["used_share_of_quota"], 0)
                if row["used_share_of_quota"] is not None else "—",
                f"{row['assessments_done']} / {row['assessments_planned']}",
                f"{row['focus_groups_done']} / {row['focus_groups_planned']}"))
        doc.table([r.c("municipality"), f("team"), r.w("f.planned_days"), r.w("f.done_days"),
                   f("quota"), f("completed"), f("used"), r.w("f.quota_share"),
                   f"{f('lsg_done')} / {r.w('p.plan')}", f"{f('fg_done')} / {r.w('p.plan')}"],
                  rows, numeric=range(4, 10))
        doc.notes([r.w("f.quota_note")])

    doc.heading(r.w("h.sample"), 2)
    if work is not None and work.quota:
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for row in work.quota:
            cell = totals[row["sex"], row["age_group"]]
            cell[0] += row["quota"] or 0
            cell[1] += row["completed"] or 0
            cell[2] += row["used"] or 0
        order = {(s.code, a.code): i for i, (s, a) in enumerate(
            (s, a) for s in r.definition.sexes for a in r.definition.age_groups)}
        doc.paragraph(r.w("f.by_group"))
        doc.table([f("sex"), f("age_group"), f("quota"), f("completed"), f("used"),
                   r.w("f.quota_share")],
                  [(r.marts.label("sex", sex), r.marts.label("age_group", age), q, done, used,
                    r.number(100 * used / q, 0) if q else "—")
                   for (sex, age), (q, done, used) in sorted(
                       totals.items(), key=lambda kv: order.get(kv[0], len(order)))],
                  numeric=range(2, 6))
    else:
        doc.paragraph(r.w("f.no_interviews"))

    doc.heading(r.w("h.exclusions"), 2)
    write_form_counts(r)
    doc.page_break()


def write_form_counts(r: StudyReport) -> None:
    """Submissions per form (received, used, left out) and the reasons they were left out."""
    doc = r.doc
    counts = r.counts.values()
    doc.table([r.header("form"), r.header("received"), r.header("used"), r.header("left_out")],
              [(FORMS[c.form].get(r.lang), c.received, c.used, c.received - c.used)
               for c in counts], numeric=range(1, 4))
    reasons = [(FORMS[c.form].get(r.lang), r.c(f"reason.{reason}"), n)
               for c in counts for reason, n in c.left_out.items()]
    if reasons:
        doc.table([r.header("form"), r.header("reason"), r.header("left_out")], reasons,
                  numeric=[2])
    else:
        doc.paragraph(r.w("f.none_left_out"))
