"""``study_report_<round>_<lang>.docx``: the drafted Word report that ends a study round, for an
expert to edit rather than write.

In order: a cover; the contents (a TOC field over real Heading styles); a one-page summary whose
every sentence is filled from the numbers with their base (where and when, what was collected,
the largest established gaps, the services to fix first, who has no LSG assessment); the method
in plain words with the study's own settings (:mod:`reports.method_notes`); the fieldwork, the
findings by service and one chapter per municipality (:mod:`reports.study_report_findings`,
:mod:`reports.study_report_fieldwork`); the drafted recommendations, each marked as a draft; and
the annexes (:mod:`reports.study_report_annex`): the questionnaires printed from the study
definition, the indicators, the fieldwork plan, the data-quality summary and the workbooks that
go with the report.

Every number comes from :class:`reports.marts.Marts` and follows the workbooks' rules: a
suppressed value shows ``*``, an unreliable one is in brackets, each table with its footnotes.
Respondents' words are plain text. Whatever the warehouse holds (one round, a municipality
without an LSG assessment, a service nobody uses, no focus group) gives a chapter that says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import duckdb

from forms.definition import Definition, Geography
from reports import study_report_annex, study_report_fieldwork, study_report_findings
from reports.gap_columns import FIELDS
from reports.gap_report import SYMBOLS, safe_name
from reports.gap_texts import WORDS
from reports.mart_rows import Cell, Round
from reports.marts import Marts
from reports.method_notes import explain_method, method_settings
from reports.recommendations import recommendations_for
from reports.report_document import ReportDocument
from reports.study_report_texts import REPORT
from reports.texts import label, tr

HEADLINES = 5  # gaps and fix-first services named in the summary


def write_study_report(conn: duckdb.DuckDBPyConnection, definition: Definition,
                       geography: Geography, out_dir: Path, round_code: str | None = None,
                       lang: str = "ru", now: dt.datetime | None = None,
                       workbooks: list[Path] | None = None) -> Path:
    """Write ``study_report_<round>_<lang>.docx`` into ``out_dir`` for ``round_code`` (None: the
    latest scored round) in ``lang`` (ru, ky, en) and return its path. ``workbooks`` are the
    files listed in the last annex as going with the report; ``now`` is the time printed on the
    cover. Raises :class:`reports.marts.ReportError` when the warehouse holds no scores or not
    that round, and :class:`aimak.errors.ConfigError` when a file at the path was not written
    by Aimak (it is left as it is)."""
    marts = Marts(conn, lang, definition)
    rnd = marts.round(round_code)
    path = Path(out_dir) / f"study_report_{safe_name(rnd.code)}_{lang}.docx"
    report = StudyReport(marts, definition, geography, rnd, now or dt.datetime.now(),
                         list(workbooks or []), path)
    report.write()
    return report.doc.save()


class StudyReport:
    """The report's data, read once, and the words and number formats every chapter shares."""

    def __init__(self, marts: Marts, definition: Definition, geography: Geography, rnd: Round,
                 now: dt.datetime, workbooks: list[Path], path: Path):
        self.marts, self.definition, self.geography, self.round = marts, definition, geography, rnd
        self.now, self.workbooks, self.lang = now, workbooks, marts.lang
        self.study = label(definition.study.title, self.lang)
        self.doc = ReportDocument(path, self.lang, f"{self.w('title')}: {self.study}")
        self.method = marts.method()
        self.places = marts.municipalities(rnd.code)
        self.cells = marts.cells(rnd.code)
        self.by_place: dict[str, list[Cell]] = defaultdict(list)
        for cell in self.cells:
            self.by_place[cell.municipality_code].append(cell)
        self.scores = {s.municipality_code: s for s in marts.municipality_scores(rnd.code)}
        self.drafts = recommendations_for(marts, rnd.code, self.cells)
        self.counts = {f.form: f for f in marts.form_counts(rnd.code)}
        self.schedule = study_report_fieldwork.agreed_schedule(self)
        self.fieldwork = study_report_fieldwork.fieldwork_done(self)

    # --- words and numbers -------------------------------------------------------------------

    def w(self, key: str, **values: object) -> str:
        """A text of the report (or of the workbooks' shared words) in the report's language."""
        return tr(key, self.lang, REPORT, WORDS, **values)

    def c(self, key: str, **values: object) -> str:
        return tr(key, self.lang, **values)

    def header(self, key: str) -> str:
        return FIELDS[key].header.get(self.lang)

    def number(self, value: float | None, digits: int | None = 1, signed: bool = False) -> str:
        """A number as the report's language writes it (a decimal comma in ru and ky) with
        ``digits`` decimals (None: as few as it needs); an em dash for a missing value."""
        if value is None:
            return "—"
        spec = f"{'+' if signed else ''}{'g' if digits is None else f'.{digits}f'}"
        text = format(value, spec)
        text = text.replace("-", "−")
        return text.replace(".", ",") if self.lang in ("ru", "ky") else text

    def share(self, value: float | None, suppressed: bool, unreliable: bool, digits: int = 1,
              signed: bool = False) -> str:
        """A share as the study shows it: ``*`` suppressed, in brackets unreliable."""
        if suppressed:
            return "*"
        if value is None:
            return "—"
        text = self.number(value, digits, signed)
        return f"({text})" if unreliable else text

    def percent(self, value: float | None, suppressed: bool, unreliable: bool) -> str:
        """A share in a sentence: whole points with '%', ``*`` suppressed, ``(40%)``
        unreliable."""
        if suppressed or value is None:
            return self.share(value, suppressed, unreliable)
        text = f"{self.number(value, 0)}%"
        return f"({text})" if unreliable else text

    def base_share(self, value: float | None, n: int | None, digits: int = 1) -> str:
        """A share on a base of ``n`` (suppressed or unreliable by n, as in the workbooks)."""
        return self.share(value, *self.base_flags(n), digits)

    def base_flags(self, n: int | None) -> tuple[bool, bool]:
        """(suppressed, unreliable) of a share on a base of ``n``."""
        n, m = n or 0, self.method
        return n < m.suppress_below, m.suppress_below <= n < m.flag_below

    def interval(self, low: float | None, high: float | None, suppressed: bool,
                 unreliable: bool) -> str:
        if suppressed:
            return "*"
        if low is None or high is None:
            return "—"
        text = f"{self.number(low)}–{self.number(high)}"
        return f"({text})" if unreliable else text

    def status(self, code: str | None) -> str:
        return f"{SYMBOLS.get(code, '')} {self.c(f'status.{code}')}".strip() if code else "—"

    def quadrant(self, code: str | None) -> str:
        return self.c(f"quadrant.{code}") if code else "—"

    def footnotes(self) -> list[str]:
        m = self.method
        return [self.c("suppressed_note", n=m.suppress_below),
                self.c("unreliable_note", low=m.suppress_below, high=m.flag_below - 1),
                self.c("base_note")]

    def days(self, first: object, last: object) -> str:
        return f"{first or '…'} — {last or '…'}"

    # --- the document ------------------------------------------------------------------------

    def write(self) -> None:
        self.write_cover()
        self.write_summary()
        self.write_method()
        study_report_fieldwork.write_fieldwork(self)
        study_report_findings.write_findings(self)
        study_report_findings.write_municipalities(self)
        study_report_findings.write_recommendations(self)
        study_report_annex.write_annexes(self)

    def write_cover(self) -> None:
        doc, rnd = self.doc, self.round
        doc.heading(self.w("title"), 0)
        doc.paragraph(self.study, bold=True)
        doc.paragraph(self.w("subtitle"))
        doc.paragraph()
        for line in (self.w("cover_round", round=rnd.code),
                     self.w("cover_fieldwork", first=rnd.first_day or "…", last=rnd.last_day or "…"),
                     self.w("cover_places", n=len(self.places)), self.w("cover_language"),
                     self.c("generated", when=self.now.replace(microsecond=0).isoformat(sep=" "))):
            doc.paragraph(line)
        doc.paragraph()
        doc.paragraph(self.c("draft"), bold=True)
        doc.page_break()
        doc.contents(self.w("contents"), self.w("toc_hint"))
        doc.page_break()

    def write_summary(self) -> None:
        doc, rnd, m = self.doc, self.round, self.method
        doc.heading(self.w("h.summary"), 1)
        names = ", ".join(p.name for p in self.places)
        citizen, lsg, groups = (self.counts[f] for f in
                                ("citizen_survey", "lsg_assessment", "focus_group"))
        doc.paragraph(self.w("s.where", study=self.study, round=rnd.code, n=len(self.places),
                             names=names))
        if rnd.first_day or rnd.last_day:
            doc.paragraph(self.w("s.when", first=rnd.first_day or "…", last=rnd.last_day or "…"))
        doc.paragraph(self.w("s.counts", interviews=citizen.used, received=citizen.received,
                             assessments=lsg.used, groups=groups.used))
        gaps = [c for c in self.cells if c.gap is not None]
        established = sorted((c for c in gaps if c.gap_established), key=lambda c: -abs(c.gap))
        if established:
            doc.paragraph(self.w("s.gaps"), bold=True)
            self.summary_list([self.w(
                "s.gap", municipality=c.municipality, service=c.service,
                gap=self.share(c.gap, c.suppressed, c.unreliable, 0, signed=True),
                s=self.percent(c.satisfaction, c.suppressed, c.unreliable), n=c.n,
                e=self.number(c.effectiveness, 0), status=self.c(f"status.{c.gap_status}"))
                for c in established])
        else:
            doc.paragraph(self.w("s.no_gaps", k=len(gaps)))
        fix = sorted((c for c in self.cells if c.quadrant == "fix_first"),
                     key=lambda c: (-(c.importance or 0), c.municipality, c.service_order))
        if fix:
            doc.paragraph(self.w("s.fix", k=len(fix), cells=len(self.cells)), bold=True)
            self.summary_list([self.w(
                "s.fix_item", municipality=c.municipality, service=c.service,
                s=self.percent(c.satisfaction, c.suppressed, c.unreliable), n=c.n,
                e=self.number(c.effectiveness, 0),
                imp=self.percent(c.importance, *self.base_flags(c.importance_n))) for c in fix])
        else:
            doc.paragraph(self.w("s.no_fix", cells=len(self.cells)))
        unassessed = [p.name for p in self.places
                      if not any(c.assessed for c in self.by_place[p.code])]
        if unassessed:
            doc.paragraph(self.w("s.not_assessed", names=", ".join(unassessed)))
        suppressed = sum(c.suppressed for c in self.cells)
        if suppressed:
            doc.paragraph(self.w("s.suppressed", k=suppressed, cells=len(self.cells),
                                 min=m.suppress_below))
        unscored = self.marts.unscored_municipalities(rnd.code)
        if unscored:
            doc.paragraph(self.w("unscored", names=", ".join(p.name for p in unscored)))
        doc.notes([*self.footnotes()[:2], self.c("draft")])
        doc.page_break()

    def summary_list(self, lines: list[str]) -> None:
        self.doc.bullets(lines[:HEADLINES])
        if len(lines) > HEADLINES:
            self.doc.paragraph(self.w("s.more", k=len(lines) - HEADLINES), "List Bullet")

    def write_method(self) -> None:
        doc = self.doc
        doc.heading(self.w("h.method"), 1)
        rules = {r: self.c(f"reason.{r}") for r in self.method.quality_rules}
        for topic, text in explain_method(self.method, self.marts.satisfaction_scale(), rules,
                                          self.lang):
            doc.runs([(f"{topic}. ", "bold"), (text, "")])
        doc.heading(self.w("h.settings"), 2)
        doc.table([self.header("setting"), self.header("setting_value")],
                  method_settings(self.method), widths=[7.0, 10.0])
        doc.page_break()
