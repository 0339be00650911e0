"""One way to write a Word document: python-docx with real Heading styles (so the contents field
and the navigation pane find them), a contents field Word and LibreOffice update, tables whose
header row repeats on every page, pictures from PNG bytes, and text that is only ever text.

Respondent text (quotes, participants' suggestions) goes into runs as it is: a run holds
characters, never a field code or a hyperlink, so ``=HYPERLINK(...)`` stays those characters.
Characters XML cannot hold (control codes a phone may send) are dropped rather than failing the
document. The one field in the document is the table of contents Aimak writes itself.

A document carries Aimak as its author and last editor; a file at the path that does not is never
replaced (the rule of :func:`reports.workbook.written_by_aimak`, which reads the same
``docProps/core.xml`` every OOXML file has). The file is written under a hidden name first and
moved into place, so an interrupted run never leaves half a document where a reader looks.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from aimak.errors import ConfigError
from reports.workbook import AUTHOR, written_by_aimak

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
LANGUAGE_TAGS = {"ru": "ru-RU", "ky": "ky-KG", "en": "en-GB"}
TOC_LEVELS = 2  # headings listed in the contents
TABLE_FONT = Pt(8)
CELL_MARGIN_TWIPS = 57  # 1 mm either side of a cell's text (Word's default is 1.9 mm)
TEXT_WIDTH_CM = 17.0  # A4 less two 2 cm margins
NOTE_COLOUR = RGBColor(0x59, 0x59, 0x59)


def plain(text: object) -> str:
    """``text`` as characters a document can hold (control codes dropped)."""
    return _NOT_XML.sub("", "" if text is None else str(text))


class ReportDocument:
    """A python-docx document with the report's styles and a record of its headings."""

    def __init__(self, path: Path, lang: str, title: str):
        self.path = Path(path)
        if self.path.exists() and not written_by_aimak(self.path):
            raise ConfigError(f"{self.path} exists and was not written by Aimak or was edited "
                              "since, so it is left as it is: move or rename it, or write "
                              "elsewhere (--out or AIMAK_OUT)")
        self.doc = docx.Document()
        self.headings: list[tuple[int, str]] = []
        self._toc: Paragraph | None = None
        props = self.doc.core_properties
        props.author = props.last_modified_by = AUTHOR
        props.title = plain(title)
        props.language = LANGUAGE_TAGS[lang]
        props.revision = 1
        self._styles(LANGUAGE_TAGS[lang])
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4 portrait
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)

    def _styles(self, language: str) -> None:
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.size = Pt(10)
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), language)
        normal.element.get_or_add_rPr().append(lang)
        for level in range(1, TOC_LEVELS + 1):
            style = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = normal
            style.paragraph_format.left_indent = Cm(0.6 * (level - 1))
            style.paragraph_format.space_after = Pt(2)
        note = styles.add_style("Aimak Note", WD_STYLE_TYPE.PARAGRAPH)
        note.base_style = normal
        note.font.size, note.font.italic, note.font.color.rgb = Pt(8), True, NOTE_COLOUR
        quote = styles.add_style("Aimak Quote", WD_STYLE_TYPE.PARAGRAPH)
        quote.base_style = normal
        quote.paragraph_format.left_indent = Cm(0.8)

    # --- text --------------------------------------------------------------------------------

    def heading(self, text: str, level: int) -> Paragraph:
        """A heading in Word's own Heading ``level`` style (Title for 0), listed in the contents."""
        if level >= 1:
            self.headings.append((level, plain(text)))
        return self.doc.add_heading(plain(text), level)

    def paragraph(self, text: str = "", style: str | None = None, *, bold: bool = False,
                  italic: bool = False) -> Paragraph:
        p = self.doc.add_paragraph(style=style)
        if text:
            run = p.add_run(plain(text))
            run.bold, run.italic = bold or None, italic or None
        return p

    def runs(self, parts: Iterable[tuple[str, str]], style: str | None = None) -> Paragraph:
        """One paragraph of runs: (text, how) with how one of '', 'bold', 'italic'."""
        p = self.doc.add_paragraph(style=style)
        for text, how in parts:
            run = p.add_run(plain(text))
            run.bold, run.italic = (how == "bold") or None, (how == "italic") or None
        return p

    def bullets(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.paragraph(text, "List Bullet")

    def notes(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.paragraph(text, "Aimak Note")

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # --- tables and pictures -----------------------------------------------------------------

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]],
              widths: Sequence[float] | None = None, numeric: Iterable[int] = ()) -> None:
        """A table with a bold header row that repeats on every page; every cell is text
        (numbers already formatted as the study shows them); ``numeric`` columns align right;
        ``widths`` are the columns' shares of the page's width (default: equal)."""
        rows = [[plain(v) for v in row] for row in rows]
        table = self.doc.add_table(rows=1 + len(rows), cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        margins = OxmlElement("w:tblCellMar")
        for side in ("left", "right"):
            margin = OxmlElement(f"w:{side}")
            margin.set(qn("w:w"), str(CELL_MARGIN_TWIPS))
            margin.set(qn("w:type"), "dxa")
            margins.append(margin)
        table._tbl.tblPr.append(margins)
        right = set(numeric)
        header = table.rows[0]
        flag = OxmlElement("w:tblHeader")
        flag.set(qn("w:val"), "true")
        header._tr.get_or_add_trPr().append(flag)
        for j, text in enumerate(headers):
            self._cell(header.cells[j], plain(text), bold=True, right=False)
            shade = OxmlElement("w:shd")
            for key, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", "DCE6F1")):
                shade.set(qn(key), value)
            header.cells[j]._tc.get_or_add_tcPr().append(shade)
        for i, values in enumerate(rows, start=1):
            cells = table.rows[i].cells
            for j, text in enumerate(values):
                self._cell(cells[j], text, right=j in right)
        if widths:
            self._widths(table, widths)
        self.doc.add_paragraph(style="Aimak Note")  # room under the table

    @staticmethod
    def _widths(table, weights: Sequence[float]) -> None:
        """Share the text width between the columns by ``weights`` (Word reads the cells'
        widths, LibreOffice the table grid: both are set)."""
        table.autofit = False
        total = sum(weights)
        widths = [Cm(TEXT_WIDTH_CM * weight / total) for weight in weights]
        for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
            col.set(qn("w:w"), str(width.twips))
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = width

    @staticmethod
    def _cell(cell, text: str, bold: bool = False, right: bool = False) -> None:
        p = cell.paragraphs[0]
        run = p.add_run(text)
        run.font.size = TABLE_FONT
        run.bold = bold or None
        if right:
            p.alignment = 2  # WD_ALIGN_PARAGRAPH.RIGHT

    def picture(self, png: bytes, width_cm: float, caption: str) -> None:
        self.doc.add_picture(io.BytesIO(png), width=Cm(width_cm))
        self.paragraph(caption, "Caption")

    # --- contents ----------------------------------------------------------------------------

    def contents(self, title: str, hint: str) -> None:
        """Where the table of contents goes: a TOC field over Heading 1..2, filled when the
        document is saved with the headings written by then (page numbers come when Word or
        LibreOffice update the field)."""
        self.paragraph(title, "TOC Heading")
        self._toc = self.paragraph()
        self.notes([hint])

    def _fill_contents(self) -> None:
        if self._toc is None:
            return
        anchor = self._toc
        _field_char(anchor, "begin")
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = f' TOC \\o "1-{TOC_LEVELS}" \\h \\z \\u '
        anchor.add_run()._r.append(instr)
        _field_char(anchor, "separate")
        last = anchor
        for level, text in self.headings:
            if level > TOC_LEVELS:
                continue
            entry = Paragraph(OxmlElement("w:p"), anchor._parent)
            last._p.addnext(entry._p)
            entry.style = self.doc.styles[f"toc {level}"]
            entry.add_run(text)
            last = entry
        end = Paragraph(OxmlElement("w:p"), anchor._parent)
        last._p.addnext(end._p)
        _field_char(end, "end")

    # --- the file ----------------------------------------------------------------------------

    def landscape(self) -> None:
        """Turn the current (last) section to A4 landscape."""
        section = self.doc.sections[-1]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)

    def save(self) -> Path:
        self._fill_contents()
        tmp = self.path.with_name(f".{self.path.name}.partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.doc.save(str(tmp))
            tmp.replace(self.path)
        finally:
            tmp.unlink(missing_ok=True)
        return self.path


def _field_char(paragraph: Paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        char.set(qn("w:dirty"), "true")  # Word offers to update it on opening
    paragraph.add_run()._r.append(char)
