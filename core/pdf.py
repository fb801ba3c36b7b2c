"""reportlab helpers shared by every PDF the platform issues (certificates, appraisal
reports, case files, receipts, statements): one look, metadata, hashes, QR codes, and a font
that can draw Chinese when the document is in zh-hans or the data holds CJK characters."""

import functools
import hashlib
import io
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import get_language, gettext
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

STYLES = getSampleStyleSheet()

# Adobe's STSong-Light is one of the CID fonts every PDF reader provides; reportlab ships its metrics,
# so Chinese renders with nothing to download or embed (and the files stay small).
CJK_FONT = "STSong-Light"
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


@functools.cache
def _register_cjk_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    # One face for all four: Paragraph markup (<b>, <i>) must map to a registered font.
    pdfmetrics.registerFontFamily(CJK_FONT, normal=CJK_FONT, bold=CJK_FONT, italic=CJK_FONT,
                                  boldItalic=CJK_FONT)
    return CJK_FONT


def needs_cjk(value: str = "") -> bool:
    """True when the active language is Chinese or the text contains CJK characters."""
    return (translation.get_language() or "").startswith("zh") or bool(_CJK.search(value or ""))


def font_for(value: str = "", *, bold: bool = False) -> str:
    if needs_cjk(value):
        return _register_cjk_font()
    return "Helvetica-Bold" if bold else "Helvetica"


@functools.cache
def _cjk_style(name: str) -> ParagraphStyle:
    # CJK has no spaces to break at: wordWrap="CJK" lets lines break between characters.
    return ParagraphStyle(f"{name}-cjk", parent=STYLES[name], fontName=_register_cjk_font(), wordWrap="CJK")


def paragraph_style(name: str = "BodyText", value: str = "") -> ParagraphStyle:
    return _cjk_style(name) if needs_cjk(value) else STYLES[name]


class QRFlowable(Flowable):
    def __init__(self, data: str, size: float = 35 * mm):
        super().__init__()
        self.data, self.size = data, size
        self.width = self.height = size

    def draw(self):
        widget = QrCodeWidget(self.data)
        x1, y1, x2, y2 = widget.getBounds()
        drawing = Drawing(
            self.size, self.size, transform=[self.size / (x2 - x1), 0, 0, self.size / (y2 - y1), 0, 0]
        )
        drawing.add(widget)
        renderPDF.draw(drawing, self.canv, 0, 0)


def para(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(text, paragraph_style(style, text))


def text(value) -> Paragraph:
    """A table cell holding data: reportlab parses paragraph text as markup, so what users
    typed ("R&D <Imaging>") is escaped or the PDF would fail to build or show altered text."""
    return para(escape(str(value)))


def kv_table(rows: Iterable[tuple[str, str]], col_widths=(55 * mm, 115 * mm)) -> Table:
    data = [[para(f"<b>{escape(str(k))}</b>"), text(v)] for k, v in rows]
    table = Table(data, colWidths=col_widths, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    return table


MARGIN = 20 * mm
# The frame a story is laid out in: the page less its margins (build_pdf).
FRAME_WIDTH = A4[0] - 2 * MARGIN
LANDSCAPE_FRAME_WIDTH = landscape(A4)[0] - 2 * MARGIN
_CELL_PADDING = 12  # reportlab's default cell padding, left + right (points)


@functools.cache
def _cell_style(name: str, size: float, anywhere: bool, cjk: bool) -> ParagraphStyle:
    base = _cjk_style(name) if cjk else STYLES[name]
    # "anywhere": a 0x… address or hash has no space to break at; wider than its column it
    # breaks between characters (reportlab's CJK wrapping) instead of running over the next one.
    return ParagraphStyle(f"{base.name}-{size}-{'any' if anywhere else 'words'}", parent=base, fontSize=size,
                          leading=size * 1.2, wordWrap="CJK" if (anywhere or cjk) else None)


def _text_widths(value: str, font: str, size: float) -> tuple[float, float]:
    """(longest word, whole text) in points: the narrowest and the widest the cell wants."""
    words = value.split() or [""]
    return (max(pdfmetrics.stringWidth(w, font, size) for w in words), pdfmetrics.stringWidth(value, font, size))


def column_widths(columns: list[list[str]], *, width: float, font: str, bold_font: str, size: float) -> list[float]:
    """Widths that fit `width`: each column at least its longest word where they all fit, the
    rest shared in proportion to what each column's full text would need (the header's words
    count, so a heading is never broken one letter per line)."""
    mins, maxs = [], []
    for cells in columns:
        lo = hi = 0.0
        for i, cell in enumerate(cells):
            word, whole = _text_widths(cell, bold_font if i == 0 else font, size)
            lo, hi = max(lo, word), max(hi, whole)
        mins.append(lo + _CELL_PADDING)
        maxs.append(max(hi, lo) + _CELL_PADDING)
    if sum(maxs) <= width:
        extra = (width - sum(maxs)) / len(maxs)
        return [m + extra for m in maxs]
    if sum(mins) >= width:
        # Not even every longest word fits: short columns keep theirs, and only the widest
        # (an address, a hash) give way, down to a common cap, breaking between characters.
        cap, rest, fixed = width / len(mins), sorted(mins), 0.0
        for i, m in enumerate(rest):
            cap = (width - fixed) / (len(rest) - i)
            if m > cap:
                break
            fixed += m
        return [min(m, cap) for m in mins]
    spare, wanted = width - sum(mins), sum(h - lo for h, lo in zip(maxs, mins, strict=True))
    return [lo + spare * (h - lo) / wanted for h, lo in zip(maxs, mins, strict=True)]


def grid_table(header: list[str], rows: list[list], col_widths=None, *, width: float = FRAME_WIDTH,
               font_size: float = 10) -> Table:
    """A table with a header row. Without `col_widths` the columns are sized from their content
    to fill `width` (the frame's, portrait by default): reportlab left alone squeezes columns of
    paragraphs until they show one letter per line."""
    texts = [[str(h) for h in header]] + [[str(c) for c in r] for r in rows]
    cjk = any(needs_cjk(t) for row in texts for t in row)
    font = _register_cjk_font() if cjk else "Helvetica"
    bold = font if cjk else "Helvetica-Bold"
    if col_widths is None:
        col_widths = column_widths([list(col) for col in zip(*texts, strict=True)], width=width, font=font,
                                   bold_font=bold, size=font_size)

    def cell(value: str, col: int, *, head: bool = False) -> Paragraph:
        anywhere = _text_widths(value, bold if head else font, font_size)[0] + _CELL_PADDING > col_widths[col]
        markup = f"<b>{escape(value)}</b>" if head else escape(value)
        return Paragraph(markup, _cell_style("BodyText", font_size, anywhere, cjk))

    data = [[cell(h, i, head=True) for i, h in enumerate(texts[0])]]
    data += [[cell(c, i) for i, c in enumerate(r)] for r in texts[1:]]
    table = Table(data, colWidths=col_widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def build_pdf(*, title: str, story: list, subject: str = "", author: str = "MedRWA",
              orientation: str = "portrait") -> bytes:
    """A PDF of `story` under `title` (also its metadata), with a footer on every page;
    `orientation="landscape"` for wide tables (lay them out with width=LANDSCAPE_FRAME_WIDTH)."""
    buf = io.BytesIO()
    pagesize = landscape(A4) if orientation == "landscape" else A4
    # The document's language and title in its catalogue, so a screen reader announces and
    # pronounces it right (reportlab writes no structure tree, so the PDFs are not tagged).
    doc = SimpleDocTemplate(
        buf, pagesize=pagesize, title=title, author=author, subject=subject, lang=get_language() or "en",
        displayDocTitle=True, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=18 * mm, bottomMargin=18 * mm,
    )
    page_label = gettext("Page")
    footer_font = font_for(title + page_label)

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(footer_font, 8)
        canvas.drawString(MARGIN, 10 * mm, f"MedRWA — {title}")
        canvas.drawRightString(pagesize[0] - MARGIN, 10 * mm, f"{page_label} {doc_.page}")
        canvas.restoreState()

    doc.build([para(title, "Title"), Spacer(1, 4 * mm), *story], onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
