"""rdc: a rate–distortion–cognition controllable learned image codec.

    >>> import rdccodec
    >>> data = rdccodec.encode("img.png", rate=3)
    >>> picture = rdccodec.decode(data, beta=0.5)

torch is imported only when a codec is first used, so `rdc --help` stays fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (CorruptStream, ImageNote, LatentMismatch, LimitExceeded, ModelMismatch, RDCError,
                     UnsupportedImage, UnsupportedVersion)

if TYPE_CHECKING:
    from PIL import Image

    from .codec import Codec

__all__ = ["Codec", "encode", "decode", "info", "RDCError", "CorruptStream", "UnsupportedVersion",
           "ModelMismatch", "LatentMismatch", "UnsupportedImage", "LimitExceeded", "ImageNote"]

_default: "Codec | None" = None


def _codec() -> "Codec":
    global _default
    if _default is None:
        from .codec import Codec

        _default = Codec()
    return _default


def encode(image: Any, rate: float = 3.0, layers: int | None = None, effort: int = 0) -> bytes:
    """Compress a path, bytes, PIL image or H×W×3 uint8 array with the shipped model; `effort` 1–3 spends
    more encoding time for better streams (the decoder is the same)."""
    return _codec().encode(image, rate=rate, layers=layers, effort=effort)


def decode(data: bytes, beta: float = 0.0, layers: int | None = None, strict: bool = False) -> "Image.Image":
    """Decompress .rdc bytes with the shipped model; β=1 machine-oriented, β=0 most faithful."""
    return _codec().decode(data, beta=beta, layers=layers, strict=strict).image


def info(data: bytes) -> dict:
    """Header, sections and bpp per layer prefix, without decoding."""
    from .codec import describe

    return describe(data)


def __getattr__(name: str):
    if name == "Codec":
        from .codec import Codec

        return Codec
    raise AttributeError(name)
