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
from xml.sax.saxutils import escape

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from aimak.errors import ConfigError
from reports.workbook import AUTHOR, written_by_aimak

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
LANGUAGE_TAGS = {"ru": "ru-RU", "ky": "ky-KG", "en": "en-GB"}
TOC_LEVELS = 2  # headings listed in the contents
TABLE_HALF_POINTS = 16  # 8-point text in tables
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
        self._ids = {style.name: style.style_id for style in self.doc.styles}
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4 portrait
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)

    def _styles(self, language: str) -> None:
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.size = Pt(10)
        normal.font.name = "Calibri"  # named, not left to the theme: LibreOffice then finds it
        # (or its metric twin Carlito) instead of falling back to a serif
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
        return self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def paragraph(self, text: str = "", style: str | None = None, *, bold: bool = False,
                  italic: bool = False) -> Paragraph:
        p = self._styled(style)
        if text:
            run = p.add_run(plain(text))
            run.bold, run.italic = bold or None, italic or None
        return p

    def runs(self, parts: Iterable[tuple[str, str]], style: str | None = None) -> Paragraph:
        """One paragraph of runs: (text, how) with how one of '', 'bold', 'italic'."""
        p = self._styled(style)
        for text, how in parts:
            run = p.add_run(plain(text))
            run.bold, run.italic = (how == "bold") or None, (how == "italic") or None
        return p

    def _styled(self, style: str | None) -> Paragraph:
        """A new paragraph in ``style`` (a style's name), set by its id: python-docx looks a
        name up among every style each time, a cost that adds up over thousands of them."""
        p = self.doc.add_paragraph()
        if style is not None:
            p._p.style = self._ids[style]
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
        """A table with a bold, shaded header row that repeats on every page; every cell is
        text (numbers already formatted as the study shows them); ``numeric`` columns align
        right; ``widths`` are the columns' shares of the page's width (default: equal).

        The rows are written as one piece of WordprocessingML parsed at once: cell by cell
        through python-docx took most of the time of a 40-municipality report."""
        weights = list(widths or [1.0] * len(headers))
        total = sum(weights)
        twips = [int(Cm(TEXT_WIDTH_CM * w / total).twips) for w in weights]
        right = set(numeric)
        grid = "".join(f'<w:gridCol w:w="{t}"/>' for t in twips)
        header = "".join(_cell_xml(plain(text), t, bold=True) for text, t in zip(
            headers, twips, strict=True))
        body = "".join(
            "<w:tr>" + "".join(_cell_xml(plain(v), t, right=j in right) for j, (v, t) in
                               enumerate(zip(row, twips, strict=True))) + "</w:tr>"
            for row in rows)
        xml = (f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="{self._ids["Table Grid"]}"/>'
               '<w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/>'
               '<w:tblLayout w:type="fixed"/><w:tblCellMar>'
               f'<w:left w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/>'
               f'<w:right w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/></w:tblCellMar>'
               '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
               'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr>'
               f'<w:tblGrid>{grid}</w:tblGrid>'
               f'<w:tr><w:trPr><w:tblHeader/></w:trPr>{header}</w:tr>{body}</w:tbl>')
        self.doc.element.body._insert_tbl(parse_xml(xml))
        self.paragraph(style="Aimak Note")  # room under the table

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
            entry._p.style = self._ids[f"toc {level}"]
            entry.add_run(text)
            last = entry
        end = Paragraph(OxmlElement("w:p"), anchor._parent)
        last._p.addnext(end._p)
        _field_char(end, "end")

    # --- the file ----------------------------------------------------------------------------

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


def _cell_xml(text: str, width: int, bold: bool = False, right: bool = False) -> str:
    """One table cell of ``text`` (already :func:`plain`) in the table font."""
    shade = '<w:shd w:val="clear" w:color="auto" w:fill="DCE6F1"/>' if bold else ""
    align = '<w:pPr><w:jc w:val="right"/></w:pPr>' if right else ""
    run = (f'<w:r><w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{TABLE_HALF_POINTS}"/></w:rPr>'
           f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>') if text else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shade}</w:tcPr>'
            f"<w:p>{align}{run}</w:p></w:tc>")


def _field_char(paragraph: Paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(char)
