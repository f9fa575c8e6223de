"""Building blocks shared by both branches: convolutions and the gained hyperprior."""
from __future__ import annotations

import importlib.util
import math
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _register_compressai_without_its_init() -> None:
    """compressai/__init__.py imports every submodule, datasets included (torchvision, torch_geometric,
    pandas): ~2 s and ~210 MiB of resident memory that rdc never uses. Register the package so that its
    submodules import on their own, with the two functions of __init__ that the entropy models call
    (rANS is the only coder rdc uses). Does nothing when compressai is already imported."""
    if "compressai" in sys.modules:
        return
    package = importlib.util.module_from_spec(importlib.util.find_spec("compressai"))
    package.get_entropy_coder = lambda: "ans"
    package.available_entropy_coders = lambda: ["ans"]
    sys.modules["compressai"] = package


_register_compressai_without_its_init()
with warnings.catch_warnings():  # compressai 1.2.8 uses the deprecated torch.jit.script at import
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.ans import RansDecoder, RansEncoder  # noqa: F401 (for entropy_coding)
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.layers import GDN
    from compressai.ops import quantize_ste

# The scale table of CompressAI's own hyperprior models (Ballé et al. 2018):
# 64 log-spaced scales between 0.11 and 256.
SCALE_TABLE = np.exp(np.linspace(math.log(0.11), math.log(256), 64)).tolist()


def conv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)


def deconv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )


def analysis(in_ch: int, hidden: int, out_ch: int, downsamplings: int) -> nn.Sequential:
    """`downsamplings` stride-2 5x5 convolutions with GDN between them."""
    layers: list[nn.Module] = []
    ch = in_ch
    for _ in range(downsamplings - 1):
        layers += [conv(ch, hidden), GDN(hidden)]
        ch = hidden
    layers.append(conv(ch, out_ch))
    return nn.Sequential(*layers)


def synthesis(in_ch: int, hidden: int, out_ch: int, upsamplings: int) -> nn.Sequential:
    """Mirror of :func:`analysis` with inverse GDN."""
    layers: list[nn.Module] = []
    ch = in_ch
    for _ in range(upsamplings - 1):
        layers += [deconv(ch, hidden), GDN(hidden, inverse=True)]
        ch = hidden
    layers.append(deconv(ch, out_ch))
    return nn.Sequential(*layers)


def guard(string: bytes, symbols: int) -> bytes:
    """Zero-pad an rANS string so CompressAI's decoder, which reads without bounds checks, stays in memory
    we own even on hostile input: at most one 32-bit word per symbol once the data is exhausted (zeros end
    every bypass loop), plus bypass chunks announced by the data itself (≤ 15 per 4-bit chunk read)."""
    return string + bytes(4 * symbols + 16 * len(string) + 64)


def symbols_crc(symbols: Tensor, crc: int = 0) -> int:
    """CRC-32 of quantised latent symbols as little-endian int32 (continuing `crc`): what both sides
    must agree on."""
    array = symbols.detach().to(torch.int32).cpu().numpy().astype("<i4")
    return zlib.crc32(array.tobytes(), crc)


class LevelGains(nn.Module):
    """Per-channel gain and inverse-gain vectors for L rate levels (Cui et al., CVPR 2021).

    Gains grow strictly with the level in every channel (a cumulative sum of
    positive steps in the log domain), so a higher level always quantises finer
    and the bitrate rises monotonically. A fractional level interpolates two
    neighbouring vectors geometrically.
    """

    def __init__(self, levels: int, channels: int, low: float = 0.25, high: float = 4.0):
        super().__init__()
        self.levels = levels
        step = math.log(high / low) / max(levels - 1, 1)
        self.log_base = nn.Parameter(torch.full((channels,), math.log(low)))
        # softplus(raw) == step at initialisation
        raw = math.log(math.expm1(step))
        self.raw_steps = nn.Parameter(torch.full((levels - 1, channels), raw))
        self.log_inverse = nn.Parameter(-self._log_gains().detach().clone())

    def _log_gains(self) -> Tensor:
        steps = F.softplus(self.raw_steps)
        zero = torch.zeros_like(self.log_base)[None]
        return self.log_base[None] + torch.cat([zero, steps.cumsum(0)], 0)

    def forward(self, level: float | Tensor) -> tuple[Tensor, Tensor]:
        """Gains and inverse gains, shaped (B, C, 1, 1) for a tensor of levels or (1, C, 1, 1)."""
        level_t = torch.as_tensor(level, dtype=self.log_base.dtype, device=self.log_base.device)
        level_t = level_t.reshape(-1).clamp(0, self.levels - 1)
        lower = level_t.floor().clamp(max=self.levels - 2).long() if self.levels > 1 else level_t.long()
        frac = (level_t - lower.to(level_t.dtype))[:, None]
        log_gains = self._log_gains()
        upper = (lower + 1).clamp(max=self.levels - 1)
        log_g = log_gains[lower] * (1 - frac) + log_gains[upper] * frac
        log_i = self.log_inverse[lower] * (1 - frac) + self.log_inverse[upper] * frac
        return log_g.exp()[:, :, None, None], log_i.exp()[:, :, None, None]


class GainedHyperprior(nn.Module):
    """Mean-scale hyperprior whose latent is multiplied by a per-level gain before quantisation.

    ::

                 ┌─────┐  z   ┌───┐ ẑ  ┌─────┐  μ, σ
        y ──┬───►┤ h_a ├──►───┤ Q ├─►──┤ h_s ├──►── ×gain ──┐
            │    └─────┘      └───┘ EB └─────┘              │
            │   gain                                        ▼            inverse gain
            └────► × ──────────────►─── Q(y·g − μg) ──►── GC ──► + μg ──► × ──► ŷ

    The hyper latent z does not depend on the level: h_s predicts the
    distribution of y, and a gain g turns N(μ, σ) into N(gμ, gσ). The channels
    are split into ordered groups of `group_channels` so that a prefix of
    groups can be decoded alone (the residual branch's layers); the primary
    branch has one group.
    """

    def __init__(self, group_channels: tuple[int, ...], hyper_channels: int, levels: int,
                 context: nn.Module | None = None):
        super().__init__()
        if context is not None and len(group_channels) > 1:
            raise ValueError("a checkerboard context reads every channel of its anchors: one channel group")
        self.context = context
        """None, or a :class:`~.checkerboard.CheckerboardContext` that corrects the hyperprior's
        parameters of the non-anchor cells from the decoded anchors (:meth:`corrected`)."""
        self.group_channels = tuple(group_channels)
        self.channels = channels = sum(self.group_channels)
        self.h_a = nn.Sequential(
            conv(channels, hyper_channels, 3, 1), nn.LeakyReLU(inplace=True),
            conv(hyper_channels, hyper_channels), nn.LeakyReLU(inplace=True),
            conv(hyper_channels, hyper_channels),
        )
        self.h_s = nn.Sequential(
            deconv(hyper_channels, hyper_channels), nn.LeakyReLU(inplace=True),
            deconv(hyper_channels, hyper_channels), nn.LeakyReLU(inplace=True),
            conv(hyper_channels, 2 * channels, 3, 1),
        )
        self.gains = LevelGains(levels, channels)
        self.entropy_bottleneck = EntropyBottleneck(hyper_channels)
        self.gaussian_conditional = GaussianConditional(SCALE_TABLE)

    def group_mask(self, active_groups: Tensor | int, like: Tensor) -> Tensor:
        """1 for channels in the first `active_groups` groups, per batch element."""
        group_of_channel = torch.repeat_interleave(torch.arange(len(self.group_channels), device=like.device),
                                                   torch.tensor(self.group_channels, device=like.device))
        active = torch.as_tensor(active_groups, device=like.device).reshape(-1, 1)
        return (group_of_channel[None] < active).to(like.dtype)[:, :, None, None]

    def group_slices(self) -> list[slice]:
        """The channels of each group, in order."""
        ends = np.cumsum(self.group_channels).tolist()
        return [slice(end - size, end) for size, end in zip(self.group_channels, ends)]

    def params(self, z_hat: Tensor, gain: Tensor) -> tuple[Tensor, Tensor]:
        """Means and scales of the gained latent y·g."""
        means, scales = self.h_s(z_hat).to(gain.dtype).chunk(2, 1)  # the exact h_s gives float32
        return means * gain, F.softplus(scales) * gain

    def corrected(self, means: Tensor, scales: Tensor, anchor_hat: Tensor, gain: Tensor) -> tuple[Tensor, Tensor]:
        """The context's second pass: means and scales of every cell, given ŷ at the anchors (zero
        elsewhere); the anchors' are unchanged."""
        d_means, d_log_scales = (d.to(gain.dtype) for d in self.context(anchor_hat))  # exact: float32
        return means + d_means * gain, scales * d_log_scales.exp()

    def forward(self, y: Tensor, level: Tensor, active_groups: Tensor | int | None = None) -> dict:
        """Training path: noisy likelihoods for the rate, straight-through rounding for ŷ."""
        gain, inverse = self.gains(level)
        z = self.h_a(y)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        means, scales = self.params(z_hat, gain)
        y_gained = y * gain
        if self.context is not None:  # first pass: the anchors from the hyperprior; second: the others
            anchor_hat = (quantize_ste(y_gained - means) + means) * inverse * self.context.anchors(y)
            means, scales = self.corrected(means, scales, anchor_hat, gain)
        _, y_likelihoods = self.gaussian_conditional(y_gained, scales, means)
        y_hat = (quantize_ste(y_gained - means) + means) * inverse
        if active_groups is not None:
            mask = self.group_mask(active_groups, y_hat)
            y_hat = y_hat * mask
            y_likelihoods = y_likelihoods ** mask  # likelihood 1 = zero bits for dropped groups
        return {"y_hat": y_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}


class SubpixelConv(nn.Module):
    """A stride-2 5×5 transposed convolution (as made by :func:`deconv`) rewritten as a 3×3 convolution to
    four times the channels followed by a pixel shuffle: the same sums (plus zero taps), but PyTorch runs a
    regular convolution much faster than a transposed one, which zero-fills and scatters large column
    buffers (measured 2–3× on the 64-channel layers); and the exact form (:mod:`.exact`) needs only
    regular convolutions."""

    def __init__(self, transposed: nn.ConvTranspose2d):
        super().__init__()
        if transposed.kernel_size != (5, 5) or transposed.stride != (2, 2) or transposed.padding != (2, 2):
            raise ValueError("only the stride-2 5×5 transposed convolutions of deconv()")
        w = transposed.weight.detach()  # (in, out, 5, 5)
        c_in, c_out = w.shape[:2]
        kernel = w.new_zeros(c_out, 2, 2, c_in, 3, 3)
        # output row 2m+a sums x[m+t−1]·w[a+4−2t] over taps t with 0 ≤ a+4−2t ≤ 4 (columns alike)
        for a in range(2):
            for t in range(3 - a):
                for b in range(2):
                    for u in range(3 - b):
                        kernel[:, a, b, :, t + a, u + b] = w[:, :, 4 - a - 2 * t, 4 - b - 2 * u].T
        self.weight = nn.Parameter(kernel.reshape(4 * c_out, c_in, 3, 3), requires_grad=False)
        self.bias = nn.Parameter(transposed.bias.detach().repeat_interleave(4), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, padding=1), 2)
