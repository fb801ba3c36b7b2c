"""Small generated sample files (demo seeding and tests)."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.pdf import build_pdf, para


def jpeg_bytes(size=(64, 48), *, exif_gps: bool = False) -> bytes:
    img = Image.new("RGB", size, (120, 30, 200))
    buf = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "CameraMaker"
        exif.get_ifd(0x8825)[2] = (42.0, 21.0, 0.0)  # GPSLatitude
        img.save(buf, format="JPEG", exif=exif)
    else:
        img.save(buf, format="JPEG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height; the pixel data is never decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + \
        chunk(b"IEND", b"")


def pdf_bytes(text: str = "Invoice 42") -> bytes:
    return build_pdf(title=text, story=[para(text)])


def photo_upload(name="front.jpg", **kw) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(**kw), content_type="image/jpeg")


def pdf_upload(name="invoice.pdf", text="Invoice 42") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")
