"""How the PDF fixtures were made: a seed page's stories printed to PDF by Debian's Chromium.

    python tests/data/seed_pdfs.py corpus/002_e713b7ff9e0ddada.txt tests/data/seed_page_two_columns.pdf --columns 2
    python tests/data/seed_pdfs.py corpus/003_9e476d53aada9340.txt tests/data/seed_page_three_pages.pdf

Each story becomes an HTML headline (``h1``), subtitle (``h3``), paragraphs and byline lines, in
the WenQuanYi Micro Hei font (``fonts-wqy-microhei``), so the PDF sets headlines larger than the
body as a newspaper does. Chromium does not break a multi-column body across pages, so a
two-column fixture must fit on one page.
"""

from __future__ import annotations

import argparse
import html
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from qa.corpus import read_page  # noqa: E402


def page_html(text: str, columns: int) -> str:
    out = []
    for s in read_page(text, "page"):
        out.append(f"<h1>{html.escape(s.title)}</h1>")
        if s.subtitle:
            out.append(f"<h3>{html.escape(s.subtitle)}</h3>")
        out += [f"<p>{html.escape(s.body[a:b])}</p>" for a, b in s.paragraphs]
        out += [f"<p>{html.escape(line)}</p>" for line in s.byline.lines]
    style = "font-family:WenQuanYi Micro Hei" + (f";column-count:{columns}" if columns > 1 else "")
    return f"<html><head><meta charset='utf-8'></head><body style='{style}'>{''.join(out)}</body></html>"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", type=Path)
    ap.add_argument("pdf", type=Path)
    ap.add_argument("--columns", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page_html(args.page.read_text(encoding="utf-8"), args.columns), encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        f"--print-to-pdf={args.pdf.resolve()}", source.as_uri()], check=True, capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
