import datetime as dt

import pytest

from assets.udi import UdiError, hibcc_check_char, parse_udi, serial_mismatch_warning


def test_raw_scanner_string_with_gs():
    r = parse_udi("]C10109506000134352112103001721123110LOT7\x1d21SN12345")
    assert (r.issuer, r.di, r.lot, r.serial) == ("gs1", "09506000134352", "LOT7", "SN12345")
    assert r.production_date == dt.date(2021, 3, 31)  # day 00 = last day of the month
    assert r.expiry_date == dt.date(2021, 12, 31)


def test_bracketed_hri_and_digital_link():
    assert parse_udi("(01)09506000134352(21)ABC").serial == "ABC"
    r = parse_udi("https://id.gs1.org/01/09506000134352/21/SN9?11=230115")
    assert r.di == "09506000134352" and r.serial == "SN9" and r.production_date == dt.date(2023, 1, 15)


def test_wrong_gtin_check_digit():
    with pytest.raises(UdiError, match="expected 7, got 5"):
        parse_udi("(01)00208851107345(21)X")


def test_hibcc_mod43():
    body = "+H123ABC0123/$+SN77"
    r = parse_udi(body + hibcc_check_char(body))
    assert (r.issuer, r.di, r.serial) == ("hibcc", "H123ABC0123", "SN77")
    wrong = "0" if hibcc_check_char(body) != "0" else "1"
    with pytest.raises(UdiError, match="HIBCC check character"):
        parse_udi(body + wrong)


def test_garbage_and_mismatch():
    with pytest.raises(UdiError):
        parse_udi("not a udi")
    assert serial_mismatch_warning(typed_serial="A1", udi_serial="B2")
    assert not serial_mismatch_warning(typed_serial="sn1", udi_serial="SN1")
