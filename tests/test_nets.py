"""The inference forms of the networks compute the same functions as the trained ones; the exact form is
thread-independent."""
import dataclasses

import pytest
import torch

from rdccodec.entropy_coding import scale_indexes
from rdccodec.errors import RDCError
from rdccodec.nets.blocks import GainedHyperprior, SubpixelConv, deconv
from rdccodec.nets.checkerboard import CheckerboardContext
from rdccodec.nets.exact import FLOAT32_EXACT, RANGE_MANTISSA_STEPS, ExactConv, integer_weights, round_up
from rdccodec.nets.model import ModelConfig, RDCModel, load_weights, save_weights
from rdccodec.train.widen import widen_state

from .conftest import SMALL


@pytest.mark.parametrize("c_in,c_out,height,width", [(7, 5, 9, 11), (16, 3, 1, 1), (4, 32, 6, 3)])
def test_subpixel_form_equals_the_transposed_convolution(c_in, c_out, height, width):
    torch.manual_seed(0)
    transposed = deconv(c_in, c_out).double()
    x = torch.randn(2, c_in, height, width, dtype=torch.float64)
    expected = transposed(x)
    got = SubpixelConv(transposed)(x)
    assert got.shape == expected.shape == (2, c_out, 2 * height, 2 * width)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)


def test_subpixel_form_refuses_other_geometries():
    with pytest.raises(ValueError):
        SubpixelConv(torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1))


def test_scale_indexes_equal_compressai_build_indexes():
    hyperprior = GainedHyperprior((8,), 4, levels=2).double()
    conditional = hyperprior.gaussian_conditional
    conditional.update_scale_table(conditional.scale_table, force=True)
    table = conditional.scale_table.double()
    edges = torch.cat([table, table.nextafter(torch.zeros(1, dtype=torch.float64)),
                       table.nextafter(torch.full((1,), 1e9, dtype=torch.float64))])
    scales = torch.cat([torch.rand(4000, dtype=torch.float64) * 300, edges, torch.zeros(2, dtype=torch.float64)])
    scales = scales.reshape(1, 1, 1, -1).expand(1, 2, 3, -1)[:, :, 1:]  # non-contiguous, as bands are
    assert torch.equal(scale_indexes(conditional, scales), conditional.build_indexes(scales))


def _in_threads(fn, counts=(1, 2, 3)):
    before = torch.get_num_threads()
    try:
        results = []
        for n in counts:
            torch.set_num_threads(n)
            results.append(fn())
        return results
    finally:
        torch.set_num_threads(before)


def test_integer_weights_keep_every_sum_exact_in_float32():
    torch.manual_seed(0)
    weight = torch.randn(6, 20, 3, 3, dtype=torch.float64) * torch.logspace(-3, 2, 6, dtype=torch.float64)[:, None, None, None]
    q, scale = integer_weights(weight, 1023, FLOAT32_EXACT)
    assert torch.equal(q, q.round())
    assert (q.abs().flatten(1).sum(1) * 1023 <= FLOAT32_EXACT).all()
    # scales as large as the budget allows: the sums use at least 99 % of it
    assert (q.abs().flatten(1).sum(1) * 1023 > 0.99 * FLOAT32_EXACT).all()
    assert torch.allclose(q / scale[:, None, None, None], weight, rtol=0, atol=float(0.5 / scale.min()))


@pytest.mark.parametrize("levels,chunks", [(1024, 1), (2048, 8)])
def test_exact_convolution_is_identical_on_any_thread_count(levels, chunks):
    torch.manual_seed(1)
    transposed = deconv(16, 8).double()
    x = torch.randn(1, 16, 40, 56, dtype=torch.float64)
    x_range = x.abs().amax((0, 2, 3)) * 1.5
    exact = ExactConv.of(transposed, x_range, levels, chunks).to(memory_format=torch.channels_last)
    x32 = x.float().contiguous(memory_format=torch.channels_last)
    first, *others = _in_threads(lambda: exact(x32))
    assert all(torch.equal(first, other) for other in others)
    expected = transposed(x)
    error = (first.double() - expected).pow(2).mean() / expected.pow(2).mean()
    assert error < 1e-5  # ≥ 50 dB signal-to-error


def test_calibrated_ranges_ignore_the_drift_of_another_thread_count():
    """Ranges are rounded up onto a coarse grid: a 1e-6 relative drift (the thread count's) lands on the same
    value, so an export's sha256 does not depend on the thread count it ran with."""
    torch.manual_seed(3)
    peaks = torch.rand(10_000) * 10 + 1e-3
    ranges = round_up(peaks)
    assert torch.all(ranges >= peaks) and torch.all(ranges <= peaks * (1 + 2 / RANGE_MANTISSA_STEPS))
    assert torch.equal(round_up(ranges), ranges)
    drifted = round_up(peaks * (1 + 1e-6))
    assert (drifted != ranges).float().mean() < 1e-3  # only peaks within 1e-6 of a grid line move


def test_exact_syntheses_match_the_float_model_and_are_thread_independent(small_weights):
    """Latents of a random image like the calibration's: inside the calibrated ranges, as real ones are."""
    model, _ = load_weights(small_weights)
    reference, _ = load_weights(small_weights)
    model.exact_syntheses()
    torch.manual_seed(2)
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    level = torch.tensor([3.0], dtype=torch.float64)
    with torch.no_grad():
        y = reference.primary.hyperprior(reference.primary.g_a(x), level)["y_hat"]
        x_hat = reference.primary.g_s(y).clamp(0, 1)
        y_r = reference.residual.hyperprior(reference.residual.analyse(x - x_hat, x_hat), level, 3)["y_hat"]

    def decode(net, dtype):
        x_hat = net.primary.g_s(y.to(dtype)).clamp(0, 1)
        return x_hat + net.residual.synthesise(y_r.to(dtype), x_hat)

    with torch.no_grad():
        first, *others = _in_threads(lambda: decode(model, torch.float32))
        expected = decode(reference, torch.float64)
    assert all(torch.equal(first, other) for other in others)
    assert (first.double() - expected).abs().max() < 2e-3


def test_weights_without_ranges_cannot_decode(tmp_path):
    model = RDCModel(SMALL)
    model.update_tables()
    save_weights(model, tmp_path / "old.pt")
    loaded, _ = load_weights(tmp_path / "old.pt")
    with pytest.raises(RDCError, match="synthesis ranges"):
        loaded.exact_syntheses()


def test_weights_keep_learned_parameters_in_fp16_and_constants_exact(tmp_path):
    """fp16 turns CompressAI's likelihood bound 1e-9 into 0, and training from such weights meets log(0)."""
    model = RDCModel(SMALL)
    model.update_tables()
    save_weights(model, tmp_path / "w.pt")
    state = torch.load(tmp_path / "w.pt", weights_only=True)["state"]
    assert all(state[name].dtype == torch.float16 for name, _ in model.named_parameters())
    bound = state["primary.hyperprior.gaussian_conditional.likelihood_lower_bound.bound"]
    assert bound.dtype == torch.float32 and bound.item() == pytest.approx(1e-9)


def test_weights_from_before_residual_layers_split_their_latent_equally():
    old = dataclasses.asdict(SMALL)
    old.pop("residual_layers")
    old.pop("residual_synthesis_hidden")
    config = ModelConfig.from_dict({**old, "residual_latent": 24, "layers": 3})
    assert config.residual_layers == (8, 8, 8) and config.layers == 3
    assert config.residual_synthesis_hidden == config.residual_hidden  # one residual width then


@pytest.mark.parametrize("width, weight", [("residual_synthesis_hidden", "residual.g_s.0.weight"),
                                           ("hidden", "primary.g_a.0.weight")])
def test_a_widened_network_computes_what_the_narrow_one_did(width, weight):
    torch.manual_seed(0)
    narrow = RDCModel(SMALL).eval()
    wide = RDCModel(dataclasses.replace(SMALL, **{width: 24})).eval()
    wide.load_state_dict(widen_state(wide, narrow.state_dict()))
    assert wide.get_parameter(weight).shape[0] == 24
    x = torch.rand(2, 3, 64, 64)
    level, active = torch.tensor([0.5, 4.0]), torch.tensor([1, 3])
    with torch.no_grad():
        expected, got = narrow.primary(x, level), wide.primary(x, level)
        assert torch.allclose(got["x_hat"], expected["x_hat"], atol=1e-6)
        for name in ("y", "z"):
            assert torch.allclose(got["likelihoods"][name], expected["likelihoods"][name], atol=1e-6)
        x_hat = expected["x_hat"].clamp(0, 1)
        assert torch.allclose(wide.residual(x - x_hat, x_hat, level, active)["r_hat"],
                              narrow.residual(x - x_hat, x_hat, level, active)["r_hat"], atol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        widen_state(narrow, wide.state_dict())


def test_a_checkerboard_context_starts_at_zero_and_then_moves_only_the_non_anchor_cells():
    torch.manual_seed(0)
    plain = RDCModel(SMALL).eval()
    context = RDCModel(dataclasses.replace(SMALL, checkerboard=True)).eval()
    context.load_state_dict(widen_state(context, plain.state_dict()))
    x, level = torch.rand(1, 3, 128, 128), torch.tensor([2.0])
    with torch.no_grad():
        expected, got = plain.primary(x, level), context.primary(x, level)
        assert torch.equal(got["x_hat"], expected["x_hat"])
        assert torch.equal(got["likelihoods"]["y"], expected["likelihoods"]["y"])
        torch.nn.init.normal_(context.primary.hyperprior.context.net[-1].weight, std=0.1)
        moved = context.primary(x, level)["likelihoods"]["y"]
    anchors = CheckerboardContext.anchors(moved).bool().expand_as(moved)
    assert torch.equal(moved[anchors], expected["likelihoods"]["y"][anchors])
    assert not torch.equal(moved[~anchors], expected["likelihoods"]["y"][~anchors])
    context.train()
    bits = -torch.log2(context.primary(x, level)["likelihoods"]["y"]).sum()
    bits.backward()
    assert context.primary.hyperprior.context.net[0].weight.grad.abs().sum() > 0  # trained with the rest


def test_a_layer_mask_keeps_exactly_the_channels_of_its_groups():
    hyperprior = GainedHyperprior((2, 3, 5), 4, levels=2)
    slices = hyperprior.group_slices()
    assert [(s.start, s.stop) for s in slices] == [(0, 2), (2, 5), (5, 10)]
    for k in range(4):
        mask = hyperprior.group_mask(k, torch.zeros(1))[0, :, 0, 0]
        assert mask.tolist() == [1.0] * sum((2, 3, 5)[:k]) + [0.0] * sum((2, 3, 5)[k:])
