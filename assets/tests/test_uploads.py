import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from assets.samples import jpeg_bytes, pdf_bytes, png_header_only
from assets.uploads import UploadError, clean_image, clean_pdf


def up(name, data, ct="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=ct)


def test_image_reencoded_without_exif_gps():
    src = jpeg_bytes((800, 600), exif_gps=True)
    assert Image.open(io.BytesIO(src)).getexif().get_ifd(0x8825)
    out = clean_image(up("a.jpg", src))
    img = Image.open(io.BytesIO(out.content))
    assert not img.getexif() and not img.getexif().get_ifd(0x8825)
    assert (out.width, out.height) == (800, 600)
    assert max(Image.open(io.BytesIO(out.thumbnail)).size) <= 320


def test_huge_dimensions_refused_from_header():
    data = png_header_only(20000, 20000)  # a few bytes claiming 400 megapixels
    with pytest.raises(UploadError, match="too many pixels; the limit is 50,000,000"):
        clean_image(up("bomb.png", data))


@override_settings(UPLOAD_MAX_IMAGE_PIXELS=100)
def test_pixel_limit_from_settings():
    with pytest.raises(UploadError, match="64×48 pixels; the limit is 100"):
        clean_image(up("a.jpg", jpeg_bytes()))


@override_settings(UPLOAD_MAX_IMAGE_BYTES=100)
def test_image_byte_limit():
    with pytest.raises(UploadError, match="limit"):
        clean_image(up("a.jpg", jpeg_bytes()))


def test_jpeg_named_pdf_is_not_a_pdf():
    with pytest.raises(UploadError, match="not a PDF"):
        clean_pdf(up("invoice.pdf", jpeg_bytes(), "application/pdf"))


def test_truncated_pdf_is_refused_and_good_pdf_passes():
    with pytest.raises(UploadError, match="damaged"):
        clean_pdf(up("x.pdf", b"%PDF-1.7\n garbage"))
    assert clean_pdf(up("renamed.bin", pdf_bytes())).startswith(b"%PDF-")


def test_text_is_not_an_image():
    with pytest.raises(UploadError, match="not a readable image"):
        clean_image(up("a.jpg", b"hello"))
