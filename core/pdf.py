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
from django.utils.translation import gettext
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
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


def grid_table(header: list[str], rows: list[list], col_widths=None) -> Table:
    data = [[para(f"<b>{escape(h)}</b>") for h in header]] + [[text(c) for c in r] for r in rows]
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


def build_pdf(*, title: str, story: list, subject: str = "", author: str = "MedRWA") -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, title=title, author=author, subject=subject,
        leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
    )
    page_label = gettext("Page")
    footer_font = font_for(title + page_label)

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(footer_font, 8)
        canvas.drawString(20 * mm, 10 * mm, f"MedRWA — {title}")
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"{page_label} {doc_.page}")
        canvas.restoreState()

    doc.build([para(title, "Title"), Spacer(1, 4 * mm), *story], onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
