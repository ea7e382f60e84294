"""Reading the server's PDFs as someone else's computer would.

Two readers that share nothing with ReportLab: a byte scan of the PDF's font
dictionaries (every font must carry its own font file, FontFile2 / FontFile3,
so a reader without Chinese fonts shows no boxes), and poppler's `pdffonts` and
`pdftotext` (Debian `poppler-utils`, installed by scripts/system-packages) for
what a reader lists and extracts.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
SUBTYPE = re.compile(rb"/Subtype\s*/(\w+)")
BASE_FONT = re.compile(rb"/BaseFont\s*/([^\s/<>\[\]]+)")
DESCRIPTOR = re.compile(rb"/FontDescriptor\s+(\d+)\s+0\s+R")
DESCENDANTS = re.compile(rb"/DescendantFonts\s*\[\s*(\d+)\s+0\s+R")


def font_files(pdf: bytes) -> dict[str, str]:
    """Each font the PDF uses -> the kind of font file it embeds ('FontFile2', ...; '' for none)."""
    objects = {int(m.group(1)): m.group(2) for m in OBJECT.finditer(pdf)}
    found: dict[str, str] = {}
    for body in objects.values():
        dictionary = body.split(b"stream", 1)[0]
        if not re.search(rb"/Type\s*/Font\b", dictionary):
            continue
        subtype = SUBTYPE.search(dictionary)
        if subtype is not None and subtype.group(1).startswith(b"CIDFontType"):
            continue  # a Type0 font's descendant: judged with its parent
        name = BASE_FONT.search(dictionary)
        label = name.group(1).decode() if name else "?"
        descendant = DESCENDANTS.search(dictionary)
        if descendant is not None:
            dictionary = objects.get(int(descendant.group(1)), b"")
        descriptor = DESCRIPTOR.search(dictionary)
        kind = ""
        if descriptor is not None:
            embedded = re.search(rb"/(FontFile[23]?)\s+\d+\s+0\s+R", objects.get(int(descriptor.group(1)), b""))
            kind = embedded.group(1).decode() if embedded else ""
        found[label] = kind
    return found


def assert_fonts_embedded(pdf: bytes) -> None:
    """Every font carries its file; none is only named (no STSong-Light, no base-14 Helvetica)."""
    files = font_files(pdf)
    assert files, "no font at all"
    assert all(kind in ("FontFile2", "FontFile3") for kind in files.values()), files
    listed = _poppler("pdffonts", pdf).splitlines()[2:]  # after the two header lines
    assert listed and all(re.search(r"\s(yes)\s+(yes)\s+(yes)\s+\d+\s+\d+\s*$", row) for row in listed), listed


def pdf_text(pdf: bytes) -> str:
    """The text a reader extracts (poppler's pdftotext), for copying and searching."""
    return _poppler("pdftotext", pdf, "-")


def _poppler(tool: str, pdf: bytes, *after: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        done = subprocess.run([tool, str(path), *after], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout
