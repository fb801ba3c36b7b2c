import io

from django.utils import translation
from pypdf import PdfReader

from core.pdf import FRAME_WIDTH, LANDSCAPE_FRAME_WIDTH, build_pdf, grid_table, kv_table, para, sha256_hex


def test_table_cells_show_what_users_typed_literally():
    pdf = build_pdf(title="Check", story=[
        kv_table([("Manufacturer", "R&D <Imaging>")]),
        grid_table(["Note"], [["< 1 week & counting"]]),
    ])
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "R&D <Imaging>" in text and "< 1 week & counting" in text
    assert len(sha256_hex(pdf)) == 64


def test_grid_columns_are_sized_from_their_content_so_no_word_is_broken_but_a_hash():
    tx = "0x" + "ab" * 32
    table = grid_table(["Token", "Period", "Wallet", "Units", "Amount", "Deposit transaction"],
                       [["VIDA", "2026-01", "0x2EB42bd8818A7cF764b9daFd44aD3DA5aFAE5f3c", "10", "48,551.31 USD", tx]])
    assert abs(sum(table._colWidths) - FRAME_WIDTH) < 0.01  # fills the portrait frame, no wider
    lines = [ln.strip() for ln in PdfReader(io.BytesIO(build_pdf(title="T", story=[table]))).pages[0]
             .extract_text().splitlines()]
    for word in ("Token", "Period", "Wallet", "Units", "Amount", "VIDA", "2026-01", "10", "48,551.31"):
        assert word in lines, word
    # Too long for a portrait column, the hash breaks between characters instead of overflowing.
    assert tx not in lines and tx in "".join(lines)
    wide = grid_table(["Deposit transaction"], [[tx]], width=LANDSCAPE_FRAME_WIDTH, font_size=8)
    assert sum(wide._colWidths) <= LANDSCAPE_FRAME_WIDTH + 0.01


def test_a_pdf_states_its_language_and_shows_its_title():
    """Screen readers read the catalogue: the reader's language and the document title."""
    with translation.override("zh-hans"):
        body = build_pdf(title="测试", story=[para("x")])
    assert b"/Lang (zh-hans)" in body and b"/DisplayDocTitle true" in body
