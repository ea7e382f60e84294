"""The Chinese font embedded in every PDF the server makes.

A PDF that only names a font (as ReportLab's built-in CID font STSong-Light
does) shows boxes on a reader without Chinese fonts. So every PDF embeds a
subset of a real font file: ReportLab subsets and embeds TrueType outlines
(`glyf`, as FontFile2) but not CFF-based OpenType, which rules out Noto Sans
CJK. AR PL UMing (Debian's `fonts-arphic-uming`, Arphic Public License, which
allows embedding) is a TrueType Ming/Song face, the style of printed official
documents; its collection's first face is UMing CN, the simplified-Chinese forms.

The file is found when a PDF is first made, not at import; when it is missing
the error names the package to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FontFile:
    path: Path
    subfont: int  # the face in a TrueType collection (.ttc)
    package: str  # the Debian package that installs it


PDF_FONT = "UMingCN"  # the name the PDFs register and use
FONT_FILES = (
    FontFile(Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0, "fonts-arphic-uming"),
    FontFile(Path("/usr/local/share/fonts/uming.ttc"), 0, "fonts-arphic-uming"),
)


class PdfFontMissing(RuntimeError):
    """No file of the Chinese PDF font: the message says which package to install."""


def find_font(candidates: tuple[FontFile, ...] = FONT_FILES) -> FontFile:
    for font in candidates:
        if font.path.is_file():
            return font
    package = candidates[0].package
    where = "、".join(str(f.path) for f in candidates)
    raise PdfFontMissing(
        f"生成 PDF 需要嵌入中文字体 AR PL UMing（Debian 软件包 {package}），未找到 {where}；"
        f"请以 root 运行 apt-get install {package}（或 bash scripts/system-packages） / "
        f"PDFs embed the Chinese font AR PL UMing (Debian package {package}), not found at {where}; "
        f"install it as root: apt-get install {package} (or bash scripts/system-packages)"
    )


def pdf_font() -> str:
    """Register the embedded Chinese font with ReportLab (once) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        font = find_font()
        pdfmetrics.registerFont(TTFont(PDF_FONT, str(font.path), subfontIndex=font.subfont))
    return PDF_FONT
