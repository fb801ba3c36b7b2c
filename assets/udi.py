"""UDI parsing: GS1 (raw scanner data, bracketed HRI, Digital Link URL) via biip, and HIBCC
with its mod-43 check. Returns what the label says; comparing it with typed data is the
caller's job (see `serial_mismatch_warning`)."""

import datetime as dt
import re
from dataclasses import dataclass, field

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message

GS = "\x1d"
HIBCC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


class UdiError(ValueError):
    pass


@dataclass
class UdiResult:
    issuer: str  # gs1 | hibcc
    di: str
    serial: str = ""
    lot: str = ""
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    warnings: list[str] = field(default_factory=list)


def hibcc_check_char(data: str) -> str:
    total = 0
    for ch in data:
        if ch not in HIBCC_CHARSET:
            raise UdiError(f"'{ch}' is not allowed in a HIBCC code.")
        total += HIBCC_CHARSET.index(ch)
    return HIBCC_CHARSET[total % 43]


def _parse_hibcc(text: str) -> UdiResult:
    # Code 39 scanners may pass the start/stop asterisks through.
    text = text.strip("*").upper()
    if len(text) < 8:
        raise UdiError("A HIBCC UDI is '+', a 4-character labeler code, a product code, "
                       "a unit-of-measure digit and a check character.")
    body, check = text[:-1], text[-1]
    expected = hibcc_check_char(body)
    if check != expected:
        raise UdiError(f"The HIBCC check character is wrong: expected '{expected}', got '{check}'.")
    primary, _, secondary = body[1:].partition("/")
    labeler, rest = primary[:4], primary[4:]
    if not labeler[:1].isalpha() or len(rest) < 2 or not rest[-1].isdigit():
        raise UdiError("The HIBCC primary data (labeler, product code, unit of measure) is malformed.")
    result = UdiResult(issuer="hibcc", di=primary)
    if secondary.startswith("$+"):
        result.serial = secondary[2:]
    elif secondary.startswith("$"):
        result.lot = secondary[1:]
    return result


def _from_elements(elements) -> UdiResult:
    values: dict[str, object] = {}
    for es in elements:
        if es.ai.ai == "01":
            if es.gtin_error:
                raise UdiError(_friendly_gtin_error(es.gtin_error))
            values["di"] = es.value
        elif es.ai.ai == "21":
            values["serial"] = es.value
        elif es.ai.ai == "10":
            values["lot"] = es.value
        elif es.ai.ai == "11":
            values["production_date"] = es.date
        elif es.ai.ai == "17":
            values["expiry_date"] = es.date
    if "di" not in values:
        raise UdiError("The UDI has no GTIN (AI 01), so it has no device identifier.")
    return UdiResult(issuer="gs1", **values)


def _friendly_gtin_error(msg: str) -> str:
    m = re.search(r"Expected (\d), got (\d)", msg)
    if m:
        return f"The GTIN check digit is wrong: expected {m.group(1)}, got {m.group(2)}."
    return f"The GTIN is invalid: {msg}"


def parse_udi(raw: str) -> UdiResult:
    """Parse a UDI as typed or scanned. Raises UdiError with a user-facing message."""
    text = (raw or "").strip()
    # Scanners emit FNC1 as GS; some keyboard wedges send it as the literal "<GS>" or "^]".
    text = text.replace("<GS>", GS).replace("^]", GS)
    if text.startswith(("]C1", "]d2", "]Q3")):
        text = text[3:]  # AIM symbology identifier
    if not text:
        raise UdiError("Enter the UDI.")
    try:
        if text.startswith(("+", "*+")):
            return _parse_hibcc(text)
        if text.lower().startswith(("http://", "https://")):
            return _from_elements(GS1DigitalLinkURI.parse(text).element_strings)
        if text.startswith("("):
            return _from_elements(GS1Message.parse_hri(text).element_strings)
        if text[:2].isdigit():
            return _from_elements(GS1Message.parse(text).element_strings)
    except ParseError as exc:
        raise UdiError(f"The UDI could not be read: {exc}") from exc
    raise UdiError("This does not look like a GS1 or HIBCC UDI. Paste the scanner output, the "
                   "bracketed text under the barcode, e.g. (01)…(21)…, or the GS1 Digital Link URL.")


def serial_mismatch_warning(*, typed_serial: str, udi_serial: str) -> str:
    if udi_serial and typed_serial and typed_serial.strip().upper() != udi_serial.strip().upper():
        return (f"The serial number typed ({typed_serial}) differs from the serial in the UDI "
                f"({udi_serial}).")
    return ""
