"""The study report, opened with python-docx: chapters under Word's own Heading styles in three
languages with a contents field, tables whose numbers are the marts' numbers (suppressed ``*``,
unreliable in brackets, with footnotes), charts as PNG pictures, a municipality without an LSG
assessment and a service nobody uses shown as what they are, summary sentences filled from the
numbers with their base, drafted recommendations by importance, the annexes, quotes kept as
plain text (no field, no hyperlink), and a docx Aimak did not write never replaced."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from aimak.errors import ConfigError
from reports.gap_texts import WORDS
from reports.marts import Marts
from reports.recommendations import SENTENCES
from reports.study_report import write_study_report
from reports.study_report_texts import REPORT
from reports.texts import COMMON, tr
from tests import report_world as world

NOW = dt.datetime(2026, 12, 1, 10, 0)
LANGS = ("ru", "ky", "en")
CHAPTERS = ("h.summary", "h.method", "h.fieldwork", "h.findings", "h.municipalities",
            "h.recommendations", "h.annexes")


@pytest.fixture(scope="module")
def one_round(study, tmp_path_factory):
    """The r1 study (report_world) reported in each language: lang -> (document, path)."""
    bundled = study[0]
    conn = world.build(bundled)
    out = tmp_path_factory.mktemp("study")
    books = tmp_path_factory.mktemp("books")
    workbooks = [books / "gap_report_r1.xlsx", books / "scorecard_A.xlsx"]
    for book in workbooks:
        book.write_bytes(b"x" * 2048)
    docs = {}
    for lang in LANGS:
        path = write_study_report(conn, world.definition(bundled), world.GEOGRAPHY, out,
                                  lang=lang, now=NOW, workbooks=workbooks)
        docs[lang] = (docx.Document(str(path)), path)
    return docs, conn


@pytest.fixture(scope="module")
def two_rounds(study, tmp_path_factory):
    bundled = study[0]
    conn = world.build(bundled, two_rounds=True)
    path = write_study_report(conn, world.definition(bundled), world.GEOGRAPHY,
                              tmp_path_factory.mktemp("study2"), lang="en", now=NOW)
    return docx.Document(str(path)), conn


def blocks(document: Document):
    """The body's paragraphs and tables in order, each with the Heading 1 and 2 above it."""
    h1 = h2 = h3 = None
    for child in document.element.body.iterchildren():
        if child.tag.endswith("}p"):
            p = Paragraph(child, document)
            style = p.style.name
            if style == "Heading 1":
                h1, h2, h3 = p.text, None, None
            elif style == "Heading 2":
                h2, h3 = p.text, None
            elif style == "Heading 3":
                h3 = p.text
            yield (h1, h2, h3), p
        elif child.tag.endswith("}tbl"):
            yield (h1, h2, h3), Table(child, document)


def tables_under(document: Document, h1: str, h2: str | None = None) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in block.rows]
            for (a, b, _), block in blocks(document)
            if isinstance(block, Table) and a == h1 and (h2 is None or b == h2)]


def texts_under(document: Document, h1: str, h2: str | None = None) -> list[str]:
    return [block.text for (a, b, _), block in blocks(document)
            if isinstance(block, Paragraph) and a == h1 and (h2 is None or b == h2)]


def w(key: str, lang: str, **values) -> str:
    return tr(key, lang, REPORT, WORDS, **values)


def ru(value: float, digits: int = 1, signed: bool = False) -> str:
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−").replace(".", ",")


def test_chapters_are_word_headings_in_the_report_language(one_round):
    docs, _ = one_round
    for lang, (document, _) in docs.items():
        styles = [(p.style.name, p.text) for p in document.paragraphs]
        assert ("Title", w("title", lang)) in styles
        h1 = [text for style, text in styles if style == "Heading 1"]
        assert h1 == [w(k, lang) for k in CHAPTERS], lang
        municipalities = [b for (a, b, _), p in blocks(document) if isinstance(p, Paragraph)
                          and a == w("h.municipalities", lang) and p.style.name == "Heading 2"]
        assert municipalities == ["A", "B"]
        h3 = {text for style, text in styles if style == "Heading 3"}
        assert {w("h.scores", lang), w("h.charts", lang), w("h.focus_groups", lang)} <= h3


def test_contents_is_a_toc_field_listing_every_chapter(one_round):
    document, _ = one_round[0]["ru"]
    xml = document.element.xml
    assert re.search(r'<w:instrText[^>]*> TOC \\o "1-2"', xml)
    assert xml.count('w:fldCharType="begin"') == xml.count('w:fldCharType="end"') == 1
    entries = [p.text for p in document.paragraphs if p.style.name == "toc 1"]
    assert entries == [w(k, "ru") for k in CHAPTERS]


def test_municipality_table_shows_the_marts_numbers_suppressed_and_unreliable(one_round):
    docs, conn = one_round
    document, _ = docs["ru"]
    cells = {c.service_code: c for c in Marts(conn, "ru").cells("r1", "A")}
    table = tables_under(document, w("h.municipalities", "ru"), "A")[0]
    rows = {row[1]: row for row in table[1:]}
    assert [row[1] for row in table[1:]] == ["WA", "RO", "SE"]  # by importance: 70, 30, 30
    wa, ro, se = cells["WA"], cells["RO"], cells["SE"]
    assert (wa.satisfaction, wa.effectiveness, wa.gap) == pytest.approx((70, 40, 30))
    assert rows["WA"] == ["1", "WA", "10", ru(wa.satisfaction),
                          f"{ru(wa.satisfaction_ci_low)}–{ru(wa.satisfaction_ci_high)}", "70",
                          "40,0", "1 / 1", "+30,0", "▲ Восприятие выше работы",
                          "Риск завышенных ожиданий"]
    assert rows["RO"][2:5] == ["5", f"({ru(ro.satisfaction)})",
                               f"({ru(ro.satisfaction_ci_low)}–{ru(ro.satisfaction_ci_high)})"]
    assert rows["RO"][8] == f"({ru(ro.gap, signed=True)})" == "(+10,0)"
    assert rows["SE"][2:5] == ["0", "*", "*"] and rows["SE"][8] == "*"
    assert se.suppressed and rows["SE"][6] == "50,0"  # E has no sampling error: shown
    notes = texts_under(document, w("h.municipalities", "ru"), "A")
    assert COMMON["suppressed_note"].ru.format(n=4) in notes
    assert COMMON["unreliable_note"].ru.format(low=4, high=7) in notes


def test_findings_by_service_set_each_municipality_side_by_side(one_round):
    document, _ = one_round[0]["en"]
    table = tables_under(document, w("h.findings", "en"), "WA")[0]
    assert [row[:3] for row in table[1:]] == [["A", "10", "70.0"], ["B", "10", "100.0"]]
    assert table[2][4:6] == ["—", "—"]  # B: no E, no gap
    sentence = texts_under(document, w("h.findings", "en"), "WA")
    assert w("v.range", "en", low="70%", low_name="A", high="100%", high_name="B", est=0, k=2,
             e=1) in sentence
    se = texts_under(document, w("h.findings", "en"), "SE")
    assert w("v.no_s", "en", min=4) in se


def test_municipality_without_lsg_assessment_says_so_everywhere(one_round):
    document, _ = one_round[0]["en"]
    chapter = texts_under(document, w("h.municipalities", "en"), "B")
    assert WORDS["assessed_no"].en in chapter
    table = tables_under(document, w("h.municipalities", "en"), "B")[0]
    assert [row[1] for row in table[1:]] == ["WA", "RO", "SE"]
    for row in table[1:]:
        assert row[6:8] == ["—", "—"]  # E, coverage
        assert row[8] == ("*" if row[1] == "SE" else "—")  # the gap: suppressed with its S
        assert row[9] == "— Insufficient data"
    assert w("s.not_assessed", "en", names="B") in texts_under(document, w("h.summary", "en"))
    drafts = texts_under(document, w("h.recommendations", "en"), "B")
    assert any(SENTENCES["action.not_assessed"].en.format(service="WA", s="100") in t
               for t in drafts)


def test_summary_sentences_are_filled_from_the_numbers_with_their_base(one_round):
    docs, _ = one_round
    for lang in LANGS:
        summary = texts_under(docs[lang][0], w("h.summary", lang))
        assert w("s.counts", lang, interviews=20, received=21, assessments=1, groups=1) in summary
        assert w("s.no_gaps", lang, k=2) in summary  # ten interviews establish nothing
        assert w("s.fix_item", lang, municipality="A", service="RO", s="(40%)", n=5, e="30",
                 imp="30%") in summary
        assert w("s.suppressed", lang, k=2, cells=6, min=4) in summary


def test_charts_are_png_pictures_drawn_only_where_there_is_something_to_draw(one_round):
    docs, _ = one_round
    for lang, (document, _) in docs.items():
        assert len(document.inline_shapes) == 3, lang  # A: bars and quadrants; B: bars only
        images = [r.target_part for r in document.part.rels.values() if "image" in r.reltype]
        assert images and all(p.content_type == "image/png" and p.blob[:8] == b"\x89PNG\r\n\x1a\n"
                              for p in images)
        assert w("m.no_quadrant", lang) in texts_under(document, w("h.municipalities", lang), "B")


def test_quotes_stay_plain_text_with_no_field_or_hyperlink(one_round):
    docs, _ = one_round
    for lang, (document, _) in docs.items():
        quotes = [p.text for (_, b, _), p in blocks(document) if isinstance(p, Paragraph)
                  and b == "A" and p.style.name == "Aimak Quote"]
        assert quotes[0].startswith(f"«{world.INJECTIONS[0]}»")
        assert {q.split("»")[0][1:] for q in quotes} == {*world.INJECTIONS, "Дорогу починили"}
        xml = document.element.xml
        assert "w:hyperlink" not in xml and "w:fldSimple" not in xml
        assert re.findall(r"<w:instrText[^>]*>([^<]*)<", xml) == [' TOC \\o "1-2" \\h \\z \\u ']
        assert not [r for r in document.part.rels.values() if "hyperlink" in r.reltype]
        assert any(world.SUGGESTION in t for t in texts_under(
            document, w("h.recommendations", lang), "A"))


def test_recommendations_come_by_importance_each_marked_as_a_draft(one_round):
    docs, _ = one_round
    for lang, (document, _) in docs.items():
        drafts = [t for t in texts_under(document, w("h.recommendations", lang), "A")
                  if re.match(r"\d\. ", t)]
        mark = SENTENCES["mark"].get(lang)
        assert [t.split("»")[0] for t in drafts] == ["1. «WA", "2. «RO", "3. «SE"]
        assert all(f"». {mark} " in t for t in drafts)


def test_annexes_print_the_questionnaires_indicators_plan_quality_and_workbooks(one_round, study):
    docs, _ = one_round
    definition = world.definition(study[0])
    for lang, (document, _) in docs.items():
        annex = w("h.annexes", lang)
        questions = texts_under(document, annex, w("h.questionnaires", lang))
        assert any(t.endswith(definition.importance.text.get(lang)) for t in questions)
        assert definition.text("consent_refused").get(lang) in questions
        indicators = tables_under(document, annex, w("h.indicators", lang))[0]
        assert [row[1] for row in indicators[1:]] == ["wa_ind", "ro_ind", "se_ind"]
        assert indicators[1][6:8] == ["0", "100"]
        plan = tables_under(document, annex, w("h.plan", lang))
        assert [row[0] for row in plan[0][1:]] == ["A", "B"]
        books = tables_under(document, annex, w("h.workbooks", lang))[0]
        assert [row[0] for row in books[1:]] == ["gap_report_r1.xlsx", "scorecard_A.xlsx"]
        assert books[1][1] == "2"


def test_changes_since_the_previous_round_only_when_there_is_one(one_round, two_rounds):
    document, conn = two_rounds
    change = Marts(conn, "en").changes("r2")[0]
    table = tables_under(document, w("h.municipalities", "en"), "A")[1]
    assert table[1][:5] == ["WA", str(change.n_before), f"{change.satisfaction_before:.1f}",
                            str(change.n_after), f"{change.satisfaction_after:.1f}"]
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 3"]
    assert w("h.changes", "en") in headings
    first = one_round[0]["en"][0]
    assert w("h.changes", "en") not in [p.text for p in first.paragraphs]


def test_a_docx_aimak_did_not_write_is_never_replaced(one_round, study, tmp_path):
    _, conn = one_round
    bundled = study[0]
    foreign = docx.Document()
    foreign.core_properties.author = "Aigul"
    foreign.add_paragraph("my own notes")
    path = tmp_path / "study_report_r1_ru.docx"
    foreign.save(str(path))
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not written by Aimak"):
        write_study_report(conn, world.definition(bundled), world.GEOGRAPHY, tmp_path, now=NOW)
    assert path.read_bytes() == before
    again = write_study_report  # Aimak's own report is replaced on the next run
    path.unlink()
    first = again(conn, world.definition(bundled), world.GEOGRAPHY, tmp_path, now=NOW)
    second = again(conn, world.definition(bundled), world.GEOGRAPHY, tmp_path, now=NOW)
    assert first == second == path and docx.Document(str(path)).core_properties.author == "Aimak"


WRITER = Path("/usr/lib/libreoffice/program/libswlo.so")  # soffice opens .docx only with it


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None or not WRITER.exists(),
                    reason="needs LibreOffice Writer (apt-get install libreoffice-writer-nogui)")
def test_libreoffice_converts_the_report_to_pdf(one_round, tmp_path):
    _, path = one_round[0]["ky"]
    done = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile",
                           "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                           str(path)], capture_output=True, text=True, timeout=240)
    pdf = tmp_path / f"{path.stem}.pdf"
    assert done.returncode == 0 and pdf.exists() and pdf.stat().st_size > 10_000, done.stderr
