"""Render the README's pictures from the demo's own workbooks: the gap report's summary sheet and a
scorecard, as PNG files in docs/img/.

    make pictures                                   # runs `aimak demo` first when out/demo is empty
    .venv/bin/python docs/render_pictures.py --warehouse out/demo/warehouse.duckdb

The workbooks are written from the demo's warehouse with the same functions `aimak report` calls
(the summary in English for the README's readers, the scorecard in Kyrgyz as an LSG gets it),
converted to PDF by LibreOffice (headless) and to PNG by pdftoppm, each cut to its printed
content. Needs LibreOffice Calc and poppler-utils from Debian's packages (CI does not):

    apt-get install -y libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito
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
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"render_pictures: {tool} is not installed. Fix: apt-get install -y "
                  "libreoffice-calc-nogui poppler-utils", file=sys.stderr)
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

    definition, _ = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aimak-pictures-") as tmp:
        work = Path(tmp)
        conn = duckdb.connect(str(args.warehouse), read_only=True)
        try:
            report = write_gap_report(conn, definition, work, lang=args.summary_lang)
            cards = write_scorecards(conn, definition, work, lang=args.scorecard_lang)
        finally:
            conn.close()
        card = next((c for c in cards if c.stem == f"scorecard_{args.municipality}"), cards[0])
        title = WORDS["gap_matrix"].get(args.summary_lang)
        render(report, work, args.out / "gap_summary.png", lambda text: text.startswith(title))
        render(card, work, args.out / "scorecard.png", lambda text: True)
    print(f"render_pictures: wrote {args.out / 'gap_summary.png'} and {args.out / 'scorecard.png'}")
    return 0


def render(workbook: Path, work: Path, png: Path, wanted) -> None:
    """The first printed page of ``workbook`` whose text ``wanted`` accepts, cut to its content."""
    subprocess.run(["soffice", f"-env:UserInstallation=file://{work}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(workbook)],
                   check=True, capture_output=True, timeout=300)
    pdf = work / f"{workbook.stem}.pdf"
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout).group(1))
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              check=True, capture_output=True, text=True).stdout.strip()
        if wanted(text):
            break
    else:
        raise SystemExit(f"render_pictures: no page of {workbook.name} holds what was asked for")
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
