"""Codec: loads the weights once and turns images into .rdc bytes and back."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import sys
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from . import container, entropy_coding, images, refine
from .container import DEFAULT_MAX_PIXELS, PAD_MULTIPLE
from .errors import CorruptStream, ImageNote, LimitExceeded, ModelMismatch, RDCError
from .evaluate.metrics import psnr
from .nets.model import load_weights
from .nets.tiling import PaddedImage, run_tiled

TILE = 512
"""Pixels per side of a transform tile (a multiple of 64). The transforms of one tile with its margins
hold a few hundred MiB (activations, im2col buffers; a 4000×3000 decode peaks at 854 MiB in all,
measured); an image no larger than one tile with its margins, such as Kodak's 768×512, runs whole."""
BAND = 768
"""Greatest height in pixels of the bands the latents are entropy-coded in (a multiple of 64)."""
BAND_PIXELS = 786_432
"""Bands of wider images are lower, down to 64 rows, so that no band exceeds about this many pixels:
entropy coding a band holds several float64 copies of its latent and CompressAI's Python lists."""
SYNTHESIS_MARGIN = 5
"""Latent cells (16 px) around a synthesis tile: an output pixel depends on ŷ within 4 cells (measured by
perturbing one cell of the shipped model), so tiled pixels equal whole-image ones."""


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

    The syntheses and hyper-syntheses run in integer-exact float32 (:mod:`.nets.exact`) on both sides:
    pixels and entropy parameters are the same on every thread count, and 2–3 times faster than the
    float64 they replace. The few transcendental steps after h_s (softplus, the gains) run in float64,
    and the latent checksums catch any disagreement left. What only the encoder computes (the analyses)
    runs in bfloat16 or float32 (:meth:`_analysis`): their results are quantised and transmitted. The
    residual it codes is the one against the decoder's own x̂1, from the exact synthesis.
    """

    def __init__(self, weights: str | Path | None = None, threads: int | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, tile: int = TILE, band: int = BAND):
        if min(tile, band) < PAD_MULTIPLE or tile % PAD_MULTIPLE or band % PAD_MULTIPLE:
            raise ValueError(f"tile and band must be positive multiples of {PAD_MULTIPLE}")
        self.model, self.sha256 = load_weights(weights or default_weights_path())
        # channels-last weights: oneDNN runs the float32 analyses twice as fast (measured: g_a 86 → 44 ms)
        self._encoder_nets = copy.deepcopy(self.model).float().to(memory_format=torch.channels_last)
        self._encoder_nets.requires_grad_(False)  # refinement takes gradients of latents, never of weights
        self._cognition = None
        self.analysis_precision = "bfloat16" if _native_bfloat16() else "float32"
        """Of the encoder's analyses (:meth:`_analysis`); "float32" makes streams 0.1 % smaller, slower."""
        self.model.exact_syntheses()
        self.tile, self.band = tile, band
        self.threads = threads
        self.max_pixels = max_pixels
        self.levels = self.model.config.levels
        self.layers = self.model.config.layers
        self.two_pass = self.model.config.checkerboard
        """Whether the primary is coded in two passes per band (a checkerboard context; stream version 3)."""

    # -- encoding -------------------------------------------------------------------------
    def encode(self, image, rate: float = 3.0, layers: int | None = None, effort: int = 0,
               progress: bool = False) -> bytes:
        """Code an image (path, bytes, PIL image or H×W×3 uint8 array) into .rdc bytes. `effort` above 0
        refines the latents by gradient steps (:mod:`.refine`): slower, better streams for the same
        decoder; `progress` shows a bar of its steps."""
        array, mode = self._load(image)
        return self.encode_array(array, mode, rate, layers, effort, progress)

    def _load(self, image) -> tuple[np.ndarray, int]:
        """The image as coded; what it loses (alpha, 16-bit depth, later frames) is an :class:`ImageNote`
        warning."""
        array, mode, notes = images.load(image, self.max_pixels)
        for note in notes:
            warnings.warn(note, ImageNote, stacklevel=3)
        return array, mode

    def encode_array(self, array: np.ndarray, mode: int, rate: float, layers: int | None, effort: int = 0,
                     progress: bool = False) -> bytes:
        layers = self.layers if layers is None else layers
        self._check_rate_layers(rate, layers)
        steps = refine.steps_of(effort, layers)
        height, width = array.shape[:2]
        self._check_pixels(width, height)
        fast, exact = self._encoder_nets, self.model
        shape = _padded_shape(height, width)
        grid = (shape[0] // 16, shape[1] // 16)
        bar = tqdm(total=refine.total_steps(effort, layers, grid), desc="refining", unit="step", leave=False,
                   disable=None if progress and steps else True, file=sys.stderr)
        generator = refine.seeded()
        with torch.no_grad(), _threads(self.threads), bar:
            pixels = PaddedImage(array, shape, torch.float32)
            whole = pixels[:, :, :] if steps else None
            y = run_tiled(self._analysis(fast.primary.g_a), [(pixels, 16)], 1, grid, self.tile // 16, 4)
            z = self._hyper_analysis(fast.primary.hyperprior, y)
            if steps:
                with torch.enable_grad():  # in float32: its steps are cheap, and its costings the coder's
                    hyper = refine.HyperRate(fast.primary.hyperprior, y, z, rate, refine.EFFORTS[effort].hyper_steps,
                                             generator)
                    z = refine.refine_hyper(z, hyper, bar.update)
                with self._refining():
                    cost = refine.PrimaryCost(fast.primary, whole, z, rate, (height, width), self._backbone())
                    y = refine.refine(y, cost, refine.EFFORTS[effort].primary_steps, generator, bar.update)
            band = max(PAD_MULTIPLE, min(self.band, BAND_PIXELS // (shape[1] * PAD_MULTIPLE) * PAD_MULTIPLE))
            p = entropy_coding.encode(exact.primary.hyperprior, y, z, rate, band // 16, dequantise=bool(layers))
            del y
            residual = []
            if layers:  # the residual branch runs only when its layers are stored
                y_hat, p.y_hat = p.y_hat, None  # freed after its last use, the residual analysis
                refine_residual = bool(steps and refine.EFFORTS[effort].residual_steps)
                synthesise = lambda y_t: exact.primary.g_s(y_t).clamp(0, 1)  # the decoder's x̂1, to the bit
                if refine_residual:  # the refinement costs every tile against x̂1: held whole
                    x_hat = run_tiled(synthesise, [(y_hat, 1)], 16, grid, self.tile // 16, SYNTHESIS_MARGIN)
                    inputs, x_hat_of = [(pixels, 16), (x_hat, 16)], (lambda x_t: x_t)
                else:  # synthesised tile by tile inside the analysis, never held whole
                    inputs, x_hat_of = [(pixels, 16), (y_hat, 1)], synthesise
                del y_hat
                analyse = self._analysis(fast.residual.analyse)

                def residual_analysis(x, source):
                    x_t = x_hat_of(source)
                    # float16 halves the largest array an encoder holds; y_r is only ever rounded, by the encoder
                    return analyse(x - x_t, x_t).half()

                y_r = run_tiled(residual_analysis, inputs, 2, grid, self.tile // 16, 8)
                del inputs
                z_r = self._hyper_analysis(fast.residual.hyperprior, y_r)
                if refine_residual:
                    with self._refining():
                        cost = refine.ResidualCost(fast.residual, whole, x_hat, z_r, rate, (height, width))
                        y_r = refine.refine(y_r.float(), cost, refine.EFFORTS[effort].residual_steps, generator,
                                            bar.update)
                    del x_hat, cost
                r = entropy_coding.encode(exact.residual.hyperprior, y_r, z_r, rate, band // 8, dequantise=False)
                residual = [container.LatentPayload(r.crcs[j], r.z if j == 0 else b"", tuple(r.strings[j]))
                            for j in range(layers)]
        header = container.Header(width, height, mode, float(rate), layers, bytes.fromhex(self.sha256), band,
                                  self.two_pass)
        stream = container.Stream(header, container.LatentPayload(p.crcs[0], p.z, tuple(p.strings[0])),
                                  tuple(residual))
        return container.serialise(stream)

    @contextlib.contextmanager
    def _refining(self):
        """Gradients on, and the refinement's networks in the analyses' precision (bfloat16 where native:
        the steps only choose symbols, which the exact decoder then synthesises)."""
        with torch.enable_grad(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                 enabled=self.analysis_precision == "bfloat16"):
            yield

    def _backbone(self):
        """The cognition term's frozen backbone, loaded on the first refined encode."""
        if self._cognition is None:
            self._cognition = refine.backbone()
        return self._cognition

    def _analysis(self, transform):
        """`transform` in bfloat16 where the CPU multiplies it natively (AMX, AVX-512 BF16), else float32.
        Only the encoder runs the analyses and it quantises their outputs, so their precision is a
        trade of speed for bytes: 4× faster (g_a 60 → 15 ms, residual analysis 46 → 21 ms at 768×512)
        for +0.1 % bytes at the same PSNR (±0.003 dB; 8 Kodak images × rates 0, 2.5, 5, measured)."""

        def run(*inputs):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.analysis_precision == "bfloat16"):
                return transform(*inputs).float()
        return run

    def _hyper_analysis(self, fast, y) -> torch.Tensor:
        """z = h_a(y) in float32: only the encoder computes it, and quantises it."""
        return run_tiled(lambda t: fast.h_a(t.float()), [(y, 4)], 1, (y.shape[2] // 4, y.shape[3] // 4),
                         self.tile // 64, 4)

    def encode_to_size(self, image, max_bytes: int | None = None, max_bpp: float | None = None,
                       layers: int | None = None, effort: int = 0, progress: bool = False) -> "Fitted":
        """The best stream of at most `max_bytes` (or `max_bpp`): a search of the continuous rate for each
        allowed layer count on the actual coded bytes; among layer counts, the highest β=0 PSNR wins.
        Every probe of the search is coded at `effort`, so the stream found is one that effort makes."""
        array, mode = self._load(image)
        if (max_bytes is None) == (max_bpp is None):
            raise ValueError("give exactly one of max_bytes and max_bpp")
        if max_bpp is not None:
            max_bytes = int(max_bpp * array.shape[0] * array.shape[1] / 8)
        candidates = []
        for k in ([layers] if layers is not None else range(self.layers + 1)):
            fitted = self._fit_rate(array, mode, max_bytes, k, effort, progress)
            if fitted is not None:
                candidates.append(fitted)
        if not candidates:
            smallest = len(self.encode_array(array, mode, 0.0, layers or 0, effort))
            raise RDCError(f"target of {max_bytes} bytes is below the smallest stream rdc makes for this image "
                           f"({smallest} bytes at rate 0 with {layers or 0} residual layers)")
        if len(candidates) > 1:
            for c in candidates:
                c.psnr = psnr(array, np.asarray(self.decode(c.data).image.convert("RGB")))
        best = max(candidates, key=lambda c: (c.psnr or 0.0, len(c.data)))
        best.reached_top = all(c.reached_top for c in candidates)
        return best

    def _fit_rate(self, array, mode, max_bytes, layers, effort, progress, steps: int = 12):
        """Regula falsi on log(bytes) against the rate, aiming 1 % under the target; stops within 1.5 %."""
        code = lambda rate: self.encode_array(array, mode, rate, layers, effort, progress)
        lo, lo_data = 0.0, code(0.0)
        if len(lo_data) > max_bytes:
            return None
        hi = float(self.levels - 1)
        hi_data = code(hi)
        if len(hi_data) <= max_bytes:
            return Fitted(hi_data, hi, layers, reached_top=True)
        best = Fitted(lo_data, lo, layers)
        aim = math.log(0.99 * max_bytes)
        for _ in range(steps):
            if len(best.data) >= 0.985 * max_bytes:
                break
            a, b = math.log(len(lo_data)), math.log(len(hi_data))
            t = min(max((aim - a) / (b - a), 0.05), 0.95)  # keep shrinking the bracket from both sides
            rate = round(lo + (hi - lo) * t, 6)
            data = code(rate)
            if len(data) <= max_bytes:
                lo, lo_data = rate, data
                best = Fitted(data, rate, layers)
            else:
                hi, hi_data = rate, data
        return best

    # -- decoding -------------------------------------------------------------------------
    def decode(self, data: bytes, beta: float = 0.0, layers: int | None = None, strict: bool = False) -> Decoded:
        """Decode .rdc bytes: x̄ = clamp(x̂1 + (1 − β)·r_k, 0, 1), rounded to 8 bits.

        The latents are decoded band by band as the tiled synthesis reaches them.
        """
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
        model = self.model
        shape = _padded_shape(header.height, header.width)
        grid = (shape[0] // 16, shape[1] // 16)
        with torch.no_grad(), _threads(self.threads):
            latents = [entropy_coding.DecodedLatent(
                model.primary.hyperprior, stream.primary.z, [stream.primary.y], [stream.primary.symbols_crc],
                header.rate, grid, header.band // 16, lambda g: "primary section")]
            if k:
                payloads = stream.residual[:k]
                latents.append(entropy_coding.DecodedLatent(
                    model.residual.hyperprior, payloads[0].z, [p.y for p in payloads],
                    [p.symbols_crc for p in payloads],
                    header.rate, (grid[0] * 2, grid[1] * 2), header.band // 8, lambda g: f"residual layer {g + 1}"))

            def synthesise(y_tile, y_r_tile=None):
                x = model.primary.g_s(y_tile).clamp(0, 1)
                if y_r_tile is not None:
                    x = x + (1 - beta) * model.residual.synthesise(y_r_tile, x)
                return torch.round(x.clamp(0, 1) * 255).to(torch.uint8)

            out = run_tiled(synthesise, list(zip(latents, (1, 2))), 16, grid, self.tile // 16, SYNTHESIS_MARGIN)
            for latent in latents:
                latent.verify()
            array = np.ascontiguousarray(out[0, :, :header.height, :header.width].permute(1, 2, 0).numpy())
            del out
        return Decoded(images.to_pil(array, header.mode), k, tuple(problems))

    # -- inspection -----------------------------------------------------------------------
    def info(self, data: bytes) -> dict:
        return describe(data)

    # -- checks ---------------------------------------------------------------------------
    def _check_model(self, header: container.Header) -> None:
        if header.model_sha256.hex() != self.sha256:
            raise ModelMismatch(
                f"stream needs model {header.model_sha256.hex()[:16]}…, loaded model is {self.sha256[:16]}…; "
                "decode it with the weights that made it (rdc decode --weights FILE)"
            )
        if header.two_pass != self.two_pass:
            raise CorruptStream(f"a version {header.version} stream cannot come from this model, which codes "
                                f"{'two passes' if self.two_pass else 'one pass'} per band")

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
        "version": h.version,
        "width": h.width, "height": h.height, "mode": container.MODES[h.mode],
        "rate": h.rate, "layers": h.layers, "model_sha256": h.model_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / pixels,
        "header_bytes": header_bytes, "sections": sections,
        "bpp_per_layers": {k: 8 * b / pixels for k, b in enumerate(prefix_bytes)},
        "intact_layers": len(parsed.stream.residual), "problems": list(parsed.problems),
    }


def _native_bfloat16() -> bool:
    """Whether oneDNN runs bfloat16 convolutions in hardware here (elsewhere it emulates them, slowly)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _padded_shape(height: int, width: int) -> tuple[int, int]:
    return (math.ceil(height / PAD_MULTIPLE) * PAD_MULTIPLE, math.ceil(width / PAD_MULTIPLE) * PAD_MULTIPLE)

