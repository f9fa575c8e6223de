"""Codec: loads the weights once and turns images into .rdc bytes and back."""
from __future__ import annotations

import contextlib
import dataclasses
import math
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import container, images
from .errors import LatentMismatch, LimitExceeded, ModelMismatch, RDCError
from .nets.blocks import symbols_crc
from .evaluate.metrics import psnr
from .nets.model import PAD_MULTIPLE, load_weights
from .nets.tiling import run_tiled

DEFAULT_MAX_PIXELS = 40_000_000
TILE = 768  # pixels per tile side for the transforms (a multiple of 64); Kodak is one tile


def default_weights_path() -> Path:
    return Path(str(resources.files("rdccodec") / "weights" / "default.pt"))


@dataclasses.dataclass(frozen=True)
class Decoded:
    image: Image.Image
    layers: int
    """Residual layers actually used (may be below the request if some were damaged)."""
    problems: tuple[str, ...]


@dataclasses.dataclass
class Fitted:
    """A stream chosen for a size target."""

    data: bytes
    rate: float
    layers: int
    reached_top: bool = False
    """True when even the highest rate stays under the target."""
    psnr: float | None = None


@contextlib.contextmanager
def _threads(n: int | None):
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Codec:
    """The rdc model, loaded once, with encode/decode/info.

    All arithmetic runs in float64: what selects the entropy tables (the
    hyperprior scales) then agrees across thread counts and machines far beyond
    the float32 drift of ~1e-7, and the latent checksums catch anything else.
    """

    def __init__(self, weights: str | Path | None = None, threads: int | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        self.model, self.sha256 = load_weights(weights or default_weights_path())
        self.threads = threads
        self.max_pixels = max_pixels
        self.levels = self.model.config.levels
        self.layers = self.model.config.layers

    # -- encoding -------------------------------------------------------------------------
    def encode(self, image, rate: float = 3.0, layers: int | None = None) -> bytes:
        """Code an image (path, bytes, PIL image or H×W×3 uint8 array) into .rdc bytes."""
        array, mode, _ = images.load(image)
        return self.encode_array(array, mode, rate, layers)

    def encode_array(self, array: np.ndarray, mode: int, rate: float, layers: int | None) -> bytes:
        layers = self.layers if layers is None else layers
        self._check_rate_layers(rate, layers)
        height, width = array.shape[:2]
        self._check_pixels(width, height)
        with torch.no_grad(), _threads(self.threads):
            x = torch.from_numpy(np.array(array)).permute(2, 0, 1)[None].double() / 255
            x_padded = _pad(x)
            primary = self.model.primary
            grid = (x_padded.shape[2] // 16, x_padded.shape[3] // 16)
            y = run_tiled(primary.g_a, [(x_padded, 16)], 1, grid, TILE // 16, 4)
            p = primary.hyperprior.compress(y, rate)
            r = None
            if layers:  # the residual branch runs only when its layers are stored
                x_hat = self._synthesise_primary(p["y_hat"])
                residual = self.model.residual
                grid = (grid[0] * 2, grid[1] * 2)
                y_r = run_tiled(lambda a, b: residual.analyse(a - b, b), [(x_padded, 8), (x_hat, 8)], 1,
                                grid, TILE // 8, 4)
                r = residual.hyperprior.compress(y_r, rate)
        stream = container.Stream(
            container.Header(width, height, mode, float(rate), layers, bytes.fromhex(self.sha256)),
            container.LatentPayload(p["group_crcs"][0], p["z_string"], p["group_strings"][0]),
            tuple(
                container.LatentPayload(r["group_crcs"][j], r["z_string"] if j == 0 else b"", r["group_strings"][j])
                for j in range(layers)
            ),
        )
        return container.serialise(stream)

    def encode_to_size(self, image, max_bytes: int | None = None, max_bpp: float | None = None,
                       layers: int | None = None) -> "Fitted":
        """The best stream of at most `max_bytes` (or `max_bpp`): bisection on the continuous rate for
        each allowed layer count on the actual coded bytes; among layer counts, the highest β=0 PSNR wins."""
        array, mode, _ = images.load(image)
        if (max_bytes is None) == (max_bpp is None):
            raise ValueError("give exactly one of max_bytes and max_bpp")
        if max_bpp is not None:
            max_bytes = int(max_bpp * array.shape[0] * array.shape[1] / 8)
        candidates = []
        for k in ([layers] if layers is not None else range(self.layers + 1)):
            fitted = self._fit_rate(array, mode, max_bytes, k)
            if fitted is not None:
                candidates.append(fitted)
        if not candidates:
            smallest = len(self.encode_array(array, mode, 0.0, layers or 0))
            raise RDCError(f"target of {max_bytes} bytes is below the smallest stream rdc makes for this image "
                           f"({smallest} bytes at rate 0 with {layers or 0} residual layers)")
        if len(candidates) > 1:
            for c in candidates:
                c.psnr = psnr(array, np.asarray(self.decode(c.data).image.convert("RGB")))
        best = max(candidates, key=lambda c: (c.psnr or 0.0, len(c.data)))
        best.reached_top = all(c.reached_top for c in candidates)
        return best

    def _fit_rate(self, array, mode, max_bytes, layers, steps: int = 14):
        low = self.encode_array(array, mode, 0.0, layers)
        if len(low) > max_bytes:
            return None
        top_rate = float(self.levels - 1)
        high = self.encode_array(array, mode, top_rate, layers)
        if len(high) <= max_bytes:
            return Fitted(high, top_rate, layers, reached_top=True)
        best, lo, hi = Fitted(low, 0.0, layers), 0.0, top_rate
        for _ in range(steps):
            mid = round((lo + hi) / 2, 6)
            data = self.encode_array(array, mode, mid, layers)
            if len(data) <= max_bytes:
                best, lo = Fitted(data, mid, layers), mid
                if len(data) >= 0.995 * max_bytes:
                    break
            else:
                hi = mid
        return best

    # -- decoding -------------------------------------------------------------------------
    def decode(self, data: bytes, beta: float = 0.0, layers: int | None = None, strict: bool = False) -> Decoded:
        """Decode .rdc bytes: x̄ = clamp(x̂1 + (1 − β)·r_k, 0, 1), rounded to 8 bits."""
        if not 0.0 <= beta <= 1.0:
            raise ValueError("beta must lie in [0, 1]")
        parsed = container.parse(data, strict=strict)
        stream, header = parsed.stream, parsed.stream.header
        self._check_model(header)
        self._check_rate_layers(header.rate, header.layers)
        self._check_pixels(header.width, header.height)
        wanted = header.layers if layers is None else min(layers, header.layers)
        problems = list(parsed.problems) if wanted > len(stream.residual) else []
        k = min(wanted, len(stream.residual))
        if beta == 1.0:
            k = 0  # the residual does not contribute; skip decoding it
        with torch.no_grad(), _threads(self.threads):
            shape = _padded_shape(header.height, header.width)
            x_hat = self._decode_primary(stream.primary, header.rate, shape)
            out = x_hat
            if k:
                r = self._decode_residual(stream.residual[:k], header.rate, x_hat, shape)
                out = x_hat + (1 - beta) * r
            out = out[:, :, :header.height, :header.width].clamp(0, 1)
            array = torch.round(out[0] * 255).to(torch.uint8).permute(1, 2, 0).numpy()
        return Decoded(images.to_pil(array, header.mode), k, tuple(problems))

    def _decode_latent(self, hyperprior, payloads, rate, latent_shape, what):
        z_shape = (latent_shape[0] // 4, latent_shape[1] // 4)
        means, indexes, inverse = hyperprior.decompress_hyper(payloads[0].z, z_shape, rate, torch.float64)
        symbols = []
        for g, payload in enumerate(payloads):
            sym = hyperprior.decompress_group(payload.y, indexes, g)
            if symbols_crc(sym) != payload.symbols_crc:
                raise LatentMismatch(
                    f"{what(g)}: decoded latent differs from the encoder's (checksum mismatch); "
                    "the decoder's entropy parameters do not match the encoder's"
                )
            symbols.append(sym)
        return hyperprior.dequantize(symbols, means, inverse)

    def _synthesise_primary(self, y_hat):
        """x̂1, clamped to [0, 1] as both encoder and decoder use it."""
        grid = tuple(y_hat.shape[-2:])
        return run_tiled(self.model.primary.g_s, [(y_hat, 1)], 16, grid, TILE // 16, 4).clamp(0, 1)

    def _decode_primary(self, payload, rate, shape):
        y_hat = self._decode_latent(self.model.primary.hyperprior, [payload], rate,
                                    (shape[0] // 16, shape[1] // 16), lambda g: "primary section")
        return self._synthesise_primary(y_hat)

    def _decode_residual(self, payloads, rate, x_hat, shape):
        residual = self.model.residual
        y_hat = self._decode_latent(residual.hyperprior, list(payloads), rate,
                                    (shape[0] // 8, shape[1] // 8), lambda g: f"residual layer {g + 1}")
        return run_tiled(residual.synthesise, [(y_hat, 1), (x_hat, 8)], 8, tuple(y_hat.shape[-2:]), TILE // 8, 6)

    # -- inspection -----------------------------------------------------------------------
    def info(self, data: bytes) -> dict:
        return describe(data)

    # -- checks ---------------------------------------------------------------------------
    def _check_model(self, header: container.Header) -> None:
        if header.model_sha256.hex() != self.sha256:
            raise ModelMismatch(
                f"stream needs model {header.model_sha256.hex()[:16]}…, loaded model is {self.sha256[:16]}…"
            )

    def _check_rate_layers(self, rate: float, layers: int) -> None:
        if not (0 <= rate <= self.levels - 1):
            raise RDCError(f"rate {rate} is outside [0, {self.levels - 1}]")
        if not (0 <= layers <= self.layers):
            raise RDCError(f"{layers} residual layers requested; the model has {self.layers}")

    def _check_pixels(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise LimitExceeded(
                f"{width}x{height} is {width * height} pixels, over the limit of {self.max_pixels} (see --max-pixels)"
            )


def describe(data: bytes) -> dict:
    """Header, sections and bpp per layer prefix of a stream, without decoding pixels."""
    parsed = container.parse(data)
    h = parsed.stream.header
    pixels = h.width * h.height
    header_bytes = len(data) - sum(length for _, _, length in parsed.sections)
    sections = [
        {"type": {container.SECTION_PRIMARY: "primary", container.SECTION_RESIDUAL: "residual"}.get(kind, f"unknown({kind})"),
         "index": index, "bytes": length}
        for kind, index, length in parsed.sections
    ]
    prefix_bytes, cumulative = [], header_bytes
    for s in sections:
        cumulative += s["bytes"]
        if s["type"] in ("primary", "residual"):
            prefix_bytes.append(cumulative)
    return {
        "version": f"{container.VERSION_MAJOR}.{container.VERSION_MINOR}",
        "width": h.width, "height": h.height, "mode": container.MODES[h.mode],
        "rate": h.rate, "layers": h.layers, "model_sha256": h.model_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / pixels,
        "header_bytes": header_bytes, "sections": sections,
        "bpp_per_layers": {k: 8 * b / pixels for k, b in enumerate(prefix_bytes)},
        "intact_layers": len(parsed.stream.residual), "problems": list(parsed.problems),
    }


def _padded_shape(height: int, width: int) -> tuple[int, int]:
    return (math.ceil(height / PAD_MULTIPLE) * PAD_MULTIPLE, math.ceil(width / PAD_MULTIPLE) * PAD_MULTIPLE)


def _pad(x: torch.Tensor) -> torch.Tensor:
    """Replicate-pad to what the transforms need; the decoder crops back."""
    h, w = x.shape[-2:]
    ph, pw = _padded_shape(h, w)
    return F.pad(x, (0, pw - w, 0, ph - h), mode="replicate")
