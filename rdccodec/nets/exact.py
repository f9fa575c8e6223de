"""Integer-exact float32 syntheses: pixels and entropy parameters come out bit-identical on any thread count.

A float32 convolution adds its products in an order that depends on the thread count and the CPU, and
the drift (~1e-7) flips some 8-bit pixels. Here every convolution multiplies integer activations by
integer weights, with per-channel scales chosen so that any partial sum stays below 2^24, where float32
holds every integer exactly: every summation order then gives the same, exact sum. Everything else —
scaling, biases, GDN's square root, rounding — is elementwise, and IEEE arithmetic rounds it the same way
in vector and scalar code. The quantisation grids come from per-channel activation ranges measured on
training photos and stored with the weights, so they are part of the model the stream's sha256 names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import GDN, SubpixelConv

FLOAT32_EXACT = 2**24
COARSE = (1024, 1)
"""(levels, chunks) of the middle convolutions of a synthesis, which hold most of its work."""
FINE = (2048, 8)
"""(levels, chunks) of the others (first and output layers, the residual's context and merge): the
most sensitive, measured layer by layer, and cheap at their resolution or width."""
GDN_LEVELS = 63
"""GDN's normaliser needs little precision: 63 levels cost nothing measurable on Kodak."""
HEADROOM = 1.5
"""Calibrated range = HEADROOM × the largest activation seen; 1.2 clipped kodim23 visibly (−0.4 dB)."""
RANGE_MANTISSA_STEPS = 64
"""Calibrated ranges are rounded up to a mantissa multiple of 1/64 (at most 3.1 % wider): the activations drift
by ~1e-6 with the thread count, and the rounding keeps an export's bytes, hence its sha256, the same."""


QUANTISED = (GDN, nn.Conv2d, nn.ConvTranspose2d, SubpixelConv)


def integer_weights(weight: Tensor, input_max: float, budget: int) -> tuple[Tensor, Tensor]:
    """Integer weights w_q ≈ weight·s (s per output channel, as large as allowed) such that
    Σ|w_q|·input_max ≤ budget for every output channel: no sum over integer inputs in
    [−input_max, input_max] can then leave the exactly representable integers."""
    l1 = weight.abs().flatten(1).sum(1).clamp_min(1e-30)
    scale = budget / (input_max * l1)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    while True:
        q = torch.round(weight * scale.reshape(shape))
        over = q.abs().flatten(1).sum(1) * input_max > budget
        if not over.any():
            return q, scale
        scale = torch.where(over, scale * 0.999, scale)


def quantise(x: Tensor, scale: Tensor, levels: int) -> Tensor:
    """Integers in [−levels, levels] on a per-channel grid (x is (N, C, H, W), scale (C,))."""
    return (x * scale[:, None, None]).round_().clamp_(-levels, levels)


class ExactConv(nn.Module):
    """A stride-1 k×k convolution, k odd, padded to keep its size (optionally followed by a 2× pixel
    shuffle), on integer-quantised inputs.

    The input channels are split into `chunks` groups, each summed exactly by its own convolution and
    the group sums added in a fixed order: each group gets the whole 2^24 budget, so the weights keep
    log2(chunks) more bits (measured: 8 chunks cost 25 ms of 175 on both syntheses at 768×512)."""

    def __init__(self, weight: Tensor, bias: Tensor, input_range: Tensor, levels: int, shuffle: bool,
                 chunks: int = 1):
        super().__init__()
        self.levels, self.shuffle = levels, shuffle
        out_ch, in_ch, k = weight.shape[:3]
        chunks = max(c for c in range(1, chunks + 1) if in_ch % c == 0)
        step = levels / input_range.double()  # integer units per activation unit, per input channel
        w = (weight.double() / step[None, :, None, None]).reshape(out_ch, chunks, in_ch // chunks, k, k)
        _, scales = integer_weights(w.transpose(0, 1).reshape(chunks * out_ch, -1), levels, FLOAT32_EXACT)
        scale = scales.reshape(chunks, out_ch).amin(0)  # one per output channel, within every group's budget
        q = torch.round(w.transpose(0, 1) * scale[None, :, None, None, None])
        self.chunks = chunks
        self.register_buffer("step", step.float())
        self.register_buffer("weight", q.reshape(chunks * out_ch, in_ch // chunks, k, k).float()
                             .contiguous(memory_format=torch.channels_last))
        self.register_buffer("unscale", (1 / scale).float()[:, None, None])
        self.register_buffer("bias", bias.float()[:, None, None])

    @classmethod
    def of(cls, layer: nn.Module, input_range: Tensor, levels: int, chunks: int = 1) -> "ExactConv":
        if isinstance(layer, nn.ConvTranspose2d):
            layer = SubpixelConv(layer)
        if isinstance(layer, SubpixelConv):
            return cls(layer.weight, layer.bias, input_range, levels, True, chunks)
        k = layer.kernel_size[0]
        if layer.kernel_size != (k, k) or k % 2 == 0 or layer.stride != (1, 1) or layer.padding != (k // 2, k // 2):
            raise ValueError("only stride-1 odd square convolutions that keep the size, and the syntheses' "
                             "transposed ones")
        return cls(layer.weight, layer.bias, input_range, levels, False, chunks)

    def forward(self, x: Tensor) -> Tensor:
        x = x.float()  # ẑ arrives in float64
        size = x.shape[1] // self.chunks
        y = None
        for i, w in enumerate(self.weight.chunk(self.chunks, 0)):  # quantised chunk by chunk: no slice copies
            part = slice(i * size, (i + 1) * size)
            s = F.conv2d(quantise(x[:, part], self.step[part], self.levels), w, padding=w.shape[-1] // 2)
            y = s if y is None else y.add_(s)
        y = y.mul_(self.unscale).add_(self.bias)
        return F.pixel_shuffle(y, 2) if self.shuffle else y


class ExactInverseGDN(nn.Module):
    """x·sqrt(β + γ·x²) with the sum over channels exact in float32: x quantised to a few levels (the
    normaliser needs little precision), γ to integers keeping the sums below 2^24."""

    def __init__(self, gdn: GDN, input_range: Tensor, levels: int = GDN_LEVELS):
        super().__init__()
        if not gdn.inverse:
            raise ValueError("only inverse GDN")
        self.levels = levels
        with torch.no_grad():
            beta = gdn.beta_reparam(gdn.beta).double()
            gamma = gdn.gamma_reparam(gdn.gamma).double()
        step = levels / input_range.double()
        q, scale = integer_weights(gamma / step[None, :] ** 2, levels**2, FLOAT32_EXACT)
        self.register_buffer("step", step.float())
        self.register_buffer("gamma_t", q.t().float().contiguous())
        self.register_buffer("unscale", (1 / scale).float())
        self.register_buffer("beta", beta.float())

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q = quantise(x, self.step, self.levels).permute(0, 2, 3, 1).reshape(-1, c)
        norm = (q.mul_(q) @ self.gamma_t).mul_(self.unscale).add_(self.beta).sqrt_()
        return x * norm.reshape(n, h, w, c).permute(0, 3, 1, 2)


def exact_sequential(transform: nn.Sequential, ranges: dict[str, Tensor], name: str) -> nn.Sequential:
    """The exact form of a synthesis called `name`; ranges[f"{name}.{i}"] is the input range of its
    i-th layer. Its first and last convolutions get :data:`FINE` precision, the others :data:`COARSE`;
    leaky ReLUs are elementwise already."""
    convs = [i for i, layer in enumerate(transform) if isinstance(layer, QUANTISED)]
    layers = []
    for i, layer in enumerate(transform):
        if isinstance(layer, GDN):
            layers.append(ExactInverseGDN(layer, ranges[f"{name}.{i}"]))
        elif isinstance(layer, QUANTISED):
            precision = FINE if i in (convs[0], convs[-1]) else COARSE
            layers.append(ExactConv.of(layer, ranges[f"{name}.{i}"], *precision))
        elif isinstance(layer, nn.LeakyReLU):
            layers.append(layer)
        else:
            raise ValueError(f"no exact form for {type(layer).__name__}")
    return nn.Sequential(*layers)


EXACT_SEQUENTIALS = ["primary.g_s", "residual.g_s", "primary.hyperprior.h_s", "residual.hyperprior.h_s"]
"""The transforms the decoder runs in exact form, with the residual's context and merge convolutions, and
the primary's checkerboard context where the model has one (:func:`exact_sequentials`)."""
EXACT_SINGLES = ["residual.context", "residual.merge"]
CHECKERBOARD = "primary.hyperprior.context.net"


def exact_sequentials(model: nn.Module) -> list[str]:
    """:data:`EXACT_SEQUENTIALS` of this model: the checkerboard context's network joins them, since its
    output selects tables."""
    return EXACT_SEQUENTIALS + ([CHECKERBOARD] if model.primary.hyperprior.context is not None else [])


def quantised_inputs(model: nn.Module) -> dict[str, nn.Module]:
    """The layers whose inputs the exact form quantises, by name."""
    found = {name: model.get_submodule(name) for name in EXACT_SINGLES}
    for name in exact_sequentials(model):
        for i, layer in enumerate(model.get_submodule(name)):
            if isinstance(layer, QUANTISED):
                found[f"{name}.{i}"] = layer
    return found


def round_up(values: Tensor) -> Tensor:
    """`values` (positive) rounded up to RANGE_MANTISSA_STEPS steps per binary octave; frexp and ldexp
    are exact, so the result does not depend on how the vector code rounds."""
    mantissa, exponent = torch.frexp(values)
    return torch.ldexp(torch.ceil(mantissa * RANGE_MANTISSA_STEPS) / RANGE_MANTISSA_STEPS, exponent.float())


@torch.no_grad()
def calibrate(model: nn.Module, photos: list[Tensor]) -> dict[str, Tensor]:
    """Per-channel input ranges of every layer the exact form quantises (model in eval mode): HEADROOM ×
    the largest |activation| over `photos` ((1, 3, H, W) in [0, 1], sides multiples of 64) at every
    integer rate level, all layers."""
    levels, layers = model.config.levels, model.config.layers
    peaks: dict[str, Tensor] = {}

    def record(name):
        def hook(_, inputs):
            peak = inputs[0].detach().abs().amax((0, 2, 3)).float()
            peaks[name] = torch.maximum(peaks[name], peak) if name in peaks else peak
        return hook

    handles = [layer.register_forward_pre_hook(record(name)) for name, layer in quantised_inputs(model).items()]
    try:
        for x in photos:
            for level in range(levels):
                lv = torch.tensor([float(level)])
                x_hat = model.primary(x, lv)["x_hat"].clamp(0, 1)
                model.residual(x - x_hat, x_hat, lv, torch.tensor([layers]))
    finally:
        for handle in handles:
            handle.remove()
    ranges = {name: round_up(HEADROOM * peak.clamp_min(1e-6)) for name, peak in peaks.items()}
    ranges["residual.context"] = torch.ones_like(peaks["residual.context"])  # x̂1 ∈ [0, 1] by construction
    return ranges
