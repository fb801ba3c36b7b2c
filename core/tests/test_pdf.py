import io

from pypdf import PdfReader

from core.pdf import build_pdf, grid_table, kv_table, sha256_hex


def test_table_cells_show_what_users_typed_literally():
    pdf = build_pdf(title="Check", story=[
        kv_table([("Manufacturer", "R&D <Imaging>")]),
        grid_table(["Note"], [["< 1 week & counting"]]),
    ])
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "R&D <Imaging>" in text and "< 1 week & counting" in text
    assert len(sha256_hex(pdf)) == 64
