"""Upload validation. Images: size limit, pixel bound read from the header before decoding
(decompression bombs), Pillow verify, re-encode (drops EXIF/GPS and anything appended),
thumbnail. PDFs: size limit, sniffed by content (magic bytes + pypdf), never by file name."""

import io
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

THUMB_SIZE = (320, 320)


class UploadError(ValueError):
    pass


@dataclass
class CleanImage:
    content: bytes
    thumbnail: bytes
    width: int
    height: int
    extension: str
    content_type: str


def _read_limited(upload, limit: int, kind: str) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise UploadError(f"The {kind} is {size / 1048576:.1f} MB; the limit is {limit / 1048576:.0f} MB.")
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadError(f"The {kind} is larger than the {limit / 1048576:.0f} MB limit.")
    return data


def clean_image(upload) -> CleanImage:
    data = _read_limited(upload, settings.UPLOAD_MAX_IMAGE_BYTES, "image")
    max_pixels = settings.UPLOAD_MAX_IMAGE_PIXELS
    try:
        # Image.open reads only the header; the pixel count is checked before any decoding.
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            fmt = probe.format
            if width * height > max_pixels:
                raise UploadError(
                    f"The image is {width}×{height} pixels; the limit is {max_pixels:,} pixels in total."
                )
            if fmt not in ("JPEG", "PNG", "WEBP"):
                raise UploadError("Upload a JPEG, PNG or WebP photo.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)  # keep the orientation EXIF would have given
            img = img.convert("RGB") if img.mode not in ("RGB", "L") else img
            out = io.BytesIO()
            # Fresh encode without exif=: EXIF (incl. GPS), XMP and trailing bytes are dropped.
            img.save(out, format="JPEG", quality=88, optimize=True)
            thumb = img.copy()
            thumb.thumbnail(THUMB_SIZE)
            tout = io.BytesIO()
            thumb.save(tout, format="JPEG", quality=80)
            return CleanImage(out.getvalue(), tout.getvalue(), img.width, img.height, "jpg", "image/jpeg")
    except UploadError:
        raise
    except Image.DecompressionBombError as exc:
        raise UploadError(
            f"The image has too many pixels; the limit is {settings.UPLOAD_MAX_IMAGE_PIXELS:,} pixels in total."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError("This file is not a readable image.") from exc


def clean_pdf(upload) -> bytes:
    data = _read_limited(upload, settings.UPLOAD_MAX_DOCUMENT_BYTES, "document")
    if not data.startswith(b"%PDF-"):
        raise UploadError("This file is not a PDF (whatever its name says). Upload a PDF document.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UploadError("Encrypted PDFs cannot be reviewed; upload an unprotected copy.")
        if len(reader.pages) < 1:
            raise UploadError("The PDF has no pages.")
    except UploadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UploadError("The PDF is damaged and cannot be opened.") from exc
    return data
