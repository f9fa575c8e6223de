"""Reading and writing images: modes, EXIF orientation, bit depth."""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .container import MODE_GRAY, MODE_RGB, MODES
from .errors import LimitExceeded, UnsupportedImage

ORIENTATION = 0x0112  # EXIF tag


def _to_rgb(im: Image.Image) -> tuple[np.ndarray, int, list[str]]:
    notes = []
    if getattr(im, "n_frames", 1) > 1:
        notes.append(f"only the first of {im.n_frames} frames is coded")
    if im.getexif().get(ORIENTATION, 1) != 1:  # transposing copies the image: only when needed
        im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        notes.append("16-bit samples are reduced to 8 bits")
        array = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        im = Image.fromarray(np.clip(np.round(array / peak * 255), 0, 255).astype(np.uint8))
    if "A" in im.getbands() or (im.mode == "P" and "transparency" in im.info):
        notes.append("alpha channel is discarded")
    gray = im.mode in ("1", "L", "LA", "I", "F") or (im.mode == "P" and _palette_is_gray(im))
    array = np.asarray(im if im.mode == "RGB" else im.convert("RGB"), dtype=np.uint8)
    return array, (MODE_GRAY if gray else MODE_RGB), notes


def _palette_is_gray(im: Image.Image) -> bool:
    rgb = np.asarray(im.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def load(image, max_pixels: int | None = None) -> tuple[np.ndarray, int, list[str]]:
    """(H×W×3 uint8 array, colour mode, notes on what was dropped) from a path, bytes, PIL image or array.

    A file's size is checked against `max_pixels` from its header, before its pixels are decoded; this
    replaces Pillow's own decompression-bomb limit of 89 megapixels."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise UnsupportedImage("arrays must be H×W×3 or H×W uint8")
        if image.ndim == 2:
            return np.repeat(image[..., None], 3, 2), MODE_GRAY, []
        return np.ascontiguousarray(image), MODE_RGB, []
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    source = io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else image
    name = "" if isinstance(image, (bytes, bytearray)) else f"{image}: "  # the CLI names its inputs itself
    try:
        with _pillow_limit(max_pixels), Image.open(source) as im:
            if max_pixels is not None and im.width * im.height > max_pixels:
                raise LimitExceeded(f"{name}{im.width}x{im.height} is {im.width * im.height} pixels, over the "
                                    f"limit of {max_pixels} (see --max-pixels)")
            im.load()
            return _to_rgb(im)
    except FileNotFoundError:
        raise UnsupportedImage(f"{name}no such file") from None
    except IsADirectoryError:
        raise UnsupportedImage(f"{name}is a directory") from None
    except UnidentifiedImageError:
        raise UnsupportedImage(f"{name}not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UnsupportedImage(f"{name}cannot read image ({e})") from None


@contextlib.contextmanager
def _pillow_limit(max_pixels: int | None):
    """Pillow refuses images above 2 × MAX_IMAGE_PIXELS while opening them; let our limit decide instead."""
    before = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None:
        Image.MAX_IMAGE_PIXELS = max(max_pixels, before or 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error" if max_pixels is None else "ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def to_pil(array: np.ndarray, mode: int) -> Image.Image:
    im = Image.fromarray(array, "RGB")
    return im.convert(MODES[mode]) if mode == MODE_GRAY else im


def encode_image(im: Image.Image, fmt: str) -> bytes:
    """The decoded picture in a file format Pillow writes (png, jpeg, webp, bmp, tiff, ppm)."""
    buffer = io.BytesIO()
    options = {"quality": 95} if fmt in ("jpeg", "webp") else {}
    im.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()
