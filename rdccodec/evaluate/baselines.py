"""Pillow's JPEG, WebP and AVIF as reference codecs."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
QUALITIES = {
    "jpeg": [5, 10, 20, 30, 45, 60, 75, 85, 92, 97],
    "webp": [2, 10, 20, 35, 50, 65, 80, 90, 97],
    "avif": [5, 15, 25, 35, 45, 55, 60, 70, 80, 90],
}
# The quality range the BD-rate target of issue 3 is defined on.
AVIF_BD_QUALITIES = range(25, 61)


def encode(array: np.ndarray, codec: str, quality: int) -> bytes:
    options = {"quality": quality}
    if codec == "avif":
        options["speed"] = 6
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=FORMATS[codec], **options)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))
