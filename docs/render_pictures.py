"""Render the README's pictures from the demo's own deliverables: the gap report's summary sheet, a
scorecard and two pages of the study report, as PNG files in docs/img/.

    make pictures                                   # runs `aimak demo` first when out/demo is empty
    .venv/bin/python docs/render_pictures.py --warehouse out/demo/warehouse.duckdb

The workbooks and the report are written from the demo's warehouse with the same functions
`aimak report` calls (the summary and the study report in English for the README's readers, the
scorecard in Kyrgyz as an LSG gets it), converted to PDF by LibreOffice (headless) and to PNG by
pdftoppm, each workbook page cut to its printed content; the study report's summary page and its
first municipality's page are set side by side. Needs LibreOffice Calc and Writer and
poppler-utils from Debian's packages (CI does not):

    apt-get install -y libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils \
        fonts-crosextra-carlito
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DPI = 80
MARGIN_PT = 14  # white kept around the printed content, in points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "out/demo/warehouse.duckdb")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img")
    parser.add_argument("--municipality", default="KMD", help="whose scorecard (default: KMD)")
    parser.add_argument("--summary-lang", default="en")
    parser.add_argument("--scorecard-lang", default="ky")
    parser.add_argument("--report-lang", default="en")
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"render_pictures: {tool} is not installed. Fix: apt-get install -y "
                  "libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils", file=sys.stderr)
            return 1
    if not args.warehouse.exists():
        print(f"render_pictures: no warehouse at {args.warehouse}. Fix: run 'make demo' (or "
              "'aimak demo --out out/demo') first, or pass --warehouse.", file=sys.stderr)
        return 1

    import duckdb

    from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
    from forms.build import load_study
    from reports.gap_report import write_gap_report
    from reports.gap_texts import WORDS
    from reports.scorecard import write_scorecards
    from reports.study_report import write_study_report
    from reports.study_report_texts import REPORT

    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aimak-pictures-") as tmp:
        work = Path(tmp)
        conn = duckdb.connect(str(args.warehouse), read_only=True)
        try:
            report = write_gap_report(conn, definition, work, lang=args.summary_lang)
            cards = write_scorecards(conn, definition, work, lang=args.scorecard_lang)
            study = write_study_report(conn, definition, geography, work, lang=args.report_lang,
                                       workbooks=[report, *cards])
        finally:
            conn.close()
        card = next((c for c in cards if c.stem == f"scorecard_{args.municipality}"), cards[0])
        title = WORDS["gap_matrix"].get(args.summary_lang)
        render(report, work, args.out / "gap_summary.png", lambda text: text.startswith(title))
        render(card, work, args.out / "scorecard.png", lambda text: True)
        words = {key: REPORT[key].get(args.report_lang) for key in ("h.summary", "h.charts")}
        render_pages(study, work, args.out / "study_report.png",
                     [lambda text: text.startswith(words["h.summary"]),
                      lambda text: words["h.charts"] in text])
    print(f"render_pictures: wrote {args.out / 'gap_summary.png'}, {args.out / 'scorecard.png'} "
          f"and {args.out / 'study_report.png'}")
    return 0


def to_pdf(document: Path, work: Path) -> Path:
    subprocess.run(["soffice", f"-env:UserInstallation=file://{work}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(document)],
                   check=True, capture_output=True, timeout=300)
    return work / f"{document.stem}.pdf"


def find_page(pdf: Path, wanted) -> int:
    """The first page of ``pdf`` whose text ``wanted`` accepts."""
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout).group(1))
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              check=True, capture_output=True, text=True).stdout.strip()
        if wanted(text):
            return page
    raise SystemExit(f"render_pictures: no page of {pdf.name} holds what was asked for")


def render_pages(document: Path, work: Path, png: Path, wanted: list) -> None:
    """The pages of ``document`` that ``wanted`` pick (one each, whole), side by side."""
    from PIL import Image  # Pillow comes with matplotlib

    pdf = to_pdf(document, work)
    images = []
    for i, accept in enumerate(wanted):
        page = find_page(pdf, accept)
        stem = work / f"page{i}"
        subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(stem)], check=True, timeout=120)
        images.append(Image.open(stem.with_suffix(".png")).convert("RGB"))
    gap = 16
    sheet = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) + 1),
                              max(i.height for i in images) + 2 * gap), "#D9D9D9")
    x = gap
    for image in images:
        sheet.paste(image, (x, gap))
        x += image.width + gap
    sheet.save(png, optimize=True)


def render(workbook: Path, work: Path, png: Path, wanted) -> None:
    """The first printed page of ``workbook`` whose text ``wanted`` accepts, cut to its content."""
    pdf = to_pdf(workbook, work)
    page = find_page(pdf, wanted)
    x0, y0, x1, y1 = content_box(pdf, page)
    scale = DPI / 72
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page),
                    "-singlefile", "-x", str(int(x0 * scale)), "-y", str(int(y0 * scale)),
                    "-W", str(int((x1 - x0) * scale)), "-H", str(int((y1 - y0) * scale)),
                    str(pdf), str(png.with_suffix(""))], check=True, timeout=120)


def content_box(pdf: Path, page: int) -> tuple[float, float, float, float]:
    """The box around every word printed on ``page`` (points), with a margin."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout
    boxes = [tuple(float(v) for v in m) for m in re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html)]
    width, height = (float(v) for v in re.search(r'<page width="([\d.]+)" height="([\d.]+)"',
                                                 html).groups())
    return (max(0.0, min(b[0] for b in boxes) - MARGIN_PT), max(0.0, min(b[1] for b in boxes) - MARGIN_PT),
            min(width, max(b[2] for b in boxes) + MARGIN_PT),
            min(height, max(b[3] for b in boxes) + MARGIN_PT))


if __name__ == "__main__":
    raise SystemExit(main())
