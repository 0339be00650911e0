"""The study report's annexes: the questionnaires printed from the study definition in the
report's language (the same forms ``aimak forms build`` writes, :func:`forms.build.generate_forms`),
the indicator list with floors and targets, the agreed fieldwork plan, the data-quality summary,
and the workbooks that go with the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from forms.blocks import LOCATION_LEVELS
from forms.build import generate_forms
from forms.xlsform import FormSpec
from reports.plan_texts import PLAN
from reports.study_report_fieldwork import write_form_counts
from reports.texts import label, tr

if TYPE_CHECKING:
    from reports.study_report import StudyReport

LONG_LISTS = ("enumerator", *LOCATION_LEVELS)  # counted, not printed: they run to hundreds
ANSWER_TYPES = ("integer", "decimal", "text", "date", "time", "geopoint", "image", "audio", "file",
                "rank")


def write_annexes(r: StudyReport) -> None:
    r.doc.heading(r.w("h.annexes"), 1)
    write_questionnaires(r)
    write_indicators(r)
    write_plan(r)
    write_quality(r)
    write_workbooks(r)


def write_questionnaires(r: StudyReport) -> None:
    doc = r.doc
    doc.heading(r.w("h.questionnaires"), 2)
    doc.paragraph(r.w("q.intro"))
    for spec in generate_forms(r.definition, r.geography):
        write_form(r, spec)


def write_form(r: StudyReport, spec: FormSpec) -> None:
    doc, lang = r.doc, r.lang
    doc.heading(label(spec.title, lang), 3)
    choices: dict[str, list[tuple[str, str]]] = {}
    for choice in spec.choices:
        choices.setdefault(choice.list_name, []).append((choice.name, label(choice.label, lang)))
    asked = {id(row) for row in spec.questions()}
    number = 0
    for row in spec.survey:
        kind, _, list_name = row.type.partition(" ")
        text = label(row.label, lang)
        if kind == "begin_group" and text:
            doc.paragraph(text, bold=True)
        elif kind == "begin_repeat":
            doc.paragraph(r.w("q.repeat", label=text), bold=True)
        elif kind == "note" and text:
            doc.paragraph(text, italic=True)
        elif id(row) in asked and text:  # a background recording has no label: nothing to ask
            number += 1
            doc.runs([(f"{number}. ", "bold"), (text, "")])
            doc.paragraph(answers(r, kind, list_name, choices), "Aimak Note")


def answers(r: StudyReport, kind: str, list_name: str,
            choices: dict[str, list[tuple[str, str]]]) -> str:
    """How a question is answered: its options, the list it picks from, or its answer type."""
    if kind.startswith("select_"):
        options = choices.get(list_name, [])
        if list_name in LONG_LISTS:
            text = r.w("q.places", what=r.w(f"q.list.{list_name}"), n=len(options))
        else:
            text = r.w("q.options", options="; ".join(f"{code} — {name}" for code, name in options))
        return f"{text} {r.w('q.multiple')}" if kind == "select_multiple" else text
    return f"({r.w(f'q.type.{kind}')})" if kind in ANSWER_TYPES else f"({kind})"


def write_indicators(r: StudyReport) -> None:
    doc = r.doc
    doc.heading(r.w("h.indicators"), 2)
    doc.table([r.header(k) for k in ("service", "indicator_code", "indicator", "unit", "answer",
                                      "direction", "floor", "target", "weight", "evidence")],
              [(i.service, i.indicator_code, i.text, i.unit, r.w(f"answer.{i.answer}"),
                r.w(f"direction.{i.direction}"), r.number(i.floor, None),
                r.number(i.target, None), r.number(i.weight, None), i.evidence)
               for i in r.marts.indicators()],
              widths=[2, 2, 4, 1.4, 1.4, 1.6, 1, 1, 1, 3], numeric=range(6, 9))


def write_plan(r: StudyReport) -> None:
    doc, lang = r.doc, r.lang

    def p(key: str, **values: object) -> str:
        return tr(key, lang, PLAN, **values)

    doc.heading(r.w("h.plan"), 2)
    schedule, sentence = r.schedule
    doc.paragraph(sentence)
    if schedule is None:
        return
    if not schedule.fits:
        doc.paragraph(r.w("p.overflow", problems=" ".join(schedule.problems)), bold=True)
    names = {m.code: label(m.name, lang) for m in r.geography.municipalities.values()}
    group_scale = r.definition.scales.get("fg_group_type")
    groups = {c.code: label(c.label, lang) for c in group_scale.choices} if group_scale else {}
    plan = schedule.plan.municipalities
    doc.table([r.c("municipality"), p("team"), p("village_count"), p("interviews"),
               p("first_day"), p("last_day"), p("days")],
              [(names.get(s.municipality, s.municipality), s.team,
                len(plan[s.municipality].villages), plan[s.municipality].interviews, s.days[0],
                s.days[-1], len(s.days)) for s in schedule.stays], numeric=[2, 3, 6])
    doc.paragraph(r.w("p.sessions"))
    doc.table([p("date"), p("start"), r.c("municipality"), p("session"), p("group_type"),
               p("held_by")],
              [(x.day, f"{x.start:%H:%M}–{x.end:%H:%M}", names.get(x.municipality, x.municipality),
                p(f"kind.{x.kind}"), groups.get(x.group_type or "", x.group_type or "—"), x.person)
               for x in sorted(schedule.sessions, key=lambda x: (x.day, x.start, x.team))])


def write_quality(r: StudyReport) -> None:
    doc = r.doc
    doc.heading(r.w("h.quality"), 2)
    doc.paragraph(r.w("d.forms"))
    write_form_counts(r)
    exclusions = r.marts.exclusions(r.round.code)
    doc.paragraph(r.w("d.reasons"))
    if exclusions:
        doc.table([r.c("municipality"), r.header("reason"), r.header("excludes"),
                   r.header("excluded"), r.header("flagged"), r.header("interviews")],
                  [(e.municipality, r.c(f"reason.{e.reason}"), r.c("yes" if e.excludes else "no"),
                    e.excluded, e.flagged, e.interviews) for e in exclusions],
                  numeric=range(3, 6))
    else:
        doc.paragraph(r.w("no_exclusions"))
    flagged = [e for e in r.marts.enumerators(r.round.code) if e.flagged or e.excluded]
    doc.paragraph(r.w("d.enumerators"))
    if flagged:
        doc.table([r.header("enumerator"), r.header("team"), r.header("interviews"),
                   r.header("interviews_used"), r.header("interviews_excluded"),
                   r.header("flagged")],
                  [(e.enumerator_code, e.team_code or "—", e.interviews, e.used, e.excluded,
                    e.flagged) for e in flagged], numeric=range(2, 6))
    else:
        doc.paragraph(r.w("d.no_flags"))


def write_workbooks(r: StudyReport) -> None:
    doc = r.doc
    doc.heading(r.w("h.workbooks"), 2)
    if not r.workbooks:
        doc.paragraph(r.w("w.none"))
        return
    doc.paragraph(r.w("w.intro"))
    doc.table([r.w("w.file"), r.w("w.size")],
              [(Path(w).name, r.number(Path(w).stat().st_size / 1024, 0)
                if Path(w).exists() else "—") for w in r.workbooks], numeric=[1])
