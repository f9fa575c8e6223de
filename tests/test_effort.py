"""Encoder effort: refined latents decode with the same decoder, never cost more, and tile without seams."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from rdccodec import refine
from rdccodec.cli import main
from rdccodec.codec import _padded_shape
from rdccodec.nets.tiling import PaddedImage

from .conftest import psnr


def _primary_cost(codec, array, rate, net=None):
    """The primary's cost at `rate` and the analysis' latent, for the whole image as one region."""
    fast = codec._encoder_nets
    h, w = array.shape[:2]
    x = PaddedImage(array, _padded_shape(h, w), torch.float32)[:, :, :]
    with torch.no_grad():
        y = fast.primary.g_a(x)
        z = fast.primary.hyperprior.h_a(y)
    cost = refine.PrimaryCost(fast.primary, x, z, rate, (h, w), net)
    whole = (slice(0, y.shape[2]), slice(0, y.shape[3]))
    cost.focus(whole, whole)
    return cost, y


def test_refined_streams_decode_with_the_unchanged_decoder_and_keep_the_format(shipped_codec, kodak_crop):
    plain = shipped_codec.encode(kodak_crop, rate=2)
    refined = shipped_codec.encode(kodak_crop, rate=2, effort=2)
    info = shipped_codec.info(refined)
    assert refined != plain and info["bpp_per_layers"][0] < shipped_codec.info(plain)["bpp_per_layers"][0]
    assert info["layers"] == shipped_codec.layers
    for k in range(shipped_codec.layers + 1):
        decoded = shipped_codec.decode(refined, beta=0, layers=k)
        assert decoded.layers == k and decoded.image.size == (kodak_crop.shape[1], kodak_crop.shape[0])
    assert shipped_codec.encode(kodak_crop, rate=2, effort=2) == refined  # reproducible on one machine


@pytest.mark.parametrize("rate", [0.0, 2.5, 5.0])
@pytest.mark.parametrize("model", ["small_codec", "checkerboard_codec"])
def test_effort_never_raises_the_cost_it_optimises(request, model, kodak_crop, rate):
    """Also with a checkerboard context, whose non-anchor cells count from means that the anchors move."""
    cost, y = _primary_cost(request.getfixturevalue(model), kodak_crop, rate, refine.backbone())
    start = torch.round(cost.deviation(y))
    with torch.no_grad():
        before = float(cost(start))
        costs = []
        for effort in range(1, len(refine.EFFORTS)):
            with torch.enable_grad():
                latent = refine.refine(y, cost, refine.EFFORTS[effort].primary_steps, refine.seeded(), lambda: None)
            costs.append(float(cost(torch.round(cost.deviation(latent)))))
    assert all(c <= before for c in costs)


@pytest.mark.parametrize("model", ["small_codec", "checkerboard_codec", "shipped_codec"])
def test_the_hyper_latent_is_refined_for_the_primarys_rate(request, model, kodak_crop):
    """Never more bits of ẑ and ŷ than under the one-pass z, and fewer with the shipped weights; a step's
    estimate holds the context's corrections of the one-pass ẑ, so at its symbols it is the cost itself."""
    primary = request.getfixturevalue(model)._encoder_nets.primary
    h, w = kodak_crop.shape[:2]
    x = PaddedImage(kodak_crop, _padded_shape(h, w), torch.float32)[:, :, :]
    with torch.no_grad():
        y = primary.g_a(x)
        z = primary.hyperprior.h_a(y)
        cost = refine.HyperRate(primary.hyperprior, y, z, 0.0, 30, refine.seeded())
        start = torch.round(cost.deviation(z))
        before = float(cost(start))
        assert float(cost.bits(start, torch.round, exact=False)) == pytest.approx(before, rel=1e-6)
        with torch.enable_grad():
            refined = refine.refine_hyper(z, cost, lambda: None)
        after = float(cost(torch.round(cost.deviation(refined))))
    assert after <= before
    if model == "shipped_codec":
        assert after < before


def test_the_residual_steps_descend_every_prefix_in_turn(small_codec, kodak_crop):
    """A residual gradient step synthesises one layer prefix; over as many steps as layers, the estimates
    average to the cost the costings see (every prefix), so the steps descend that cost."""
    fast = small_codec._encoder_nets
    h, w = kodak_crop.shape[:2]
    x = PaddedImage(kodak_crop, _padded_shape(h, w), torch.float32)[:, :, :]
    with torch.no_grad():
        x_hat = fast.primary(x, torch.tensor([2.0]))["x_hat"].clamp(0, 1)
        y_r = fast.residual.analyse(x - x_hat, x_hat)
        cost = refine.ResidualCost(fast.residual, x, x_hat, fast.residual.hyperprior.h_a(y_r), 2.0, (h, w))
        whole = (slice(0, y_r.shape[2]), slice(0, y_r.shape[3]))
        cost.focus(whole, whole)
        symbols = torch.round(cost.deviation(y_r))
        layers = len(cost.slices)
        estimates = [float(cost.estimate(symbols, step)) for step in range(layers)]
        assert len(set(estimates)) == layers  # each step sees another prefix
        assert sum(estimates) / layers == pytest.approx(float(cost(symbols)), rel=1e-5)


def test_the_primary_cost_holds_the_backbones_spatial_features(small_codec, kodak_crop):
    """Effort's cognition term is live: the same symbols cost more with the feature distance than without,
    and by the weight stated (the term is the stride-8/16/32 distance of the frozen Lite0)."""
    net = refine.backbone()
    with_maps, y = _primary_cost(small_codec, kodak_crop, 2.0, net)
    plain, _ = _primary_cost(small_codec, kodak_crop, 2.0)
    symbols = torch.round(plain.deviation(y))
    with torch.no_grad():
        extra = float(with_maps(symbols)) - float(plain(symbols))
        x_hat = plain.cropped(plain.nets.g_s(plain.dequantise(symbols)[0])).float()
        distance = sum(refine.feature_distance(a, b) for a, b in
                       zip(refine.stride_maps(net, x_hat), with_maps.maps)).sum() / 3
    assert refine.SPATIAL_WEIGHT > 0 and extra > 0
    assert extra == pytest.approx(float(plain.lam * refine.SPATIAL_WEIGHT * distance), rel=1e-4)


def test_tiled_refinement_lowers_the_whole_image_cost_and_leaves_no_seams(shipped_codec, monkeypatch):
    from PIL import Image

    from .conftest import KODAK

    with Image.open(KODAK / "kodim23.png") as im:
        array = np.asarray(im.convert("RGB"))[96:352, 200:456].copy()  # 256×256: 16×16 latent cells
    monkeypatch.setattr(refine, "SPATIAL_WEIGHT", 0.0)  # MSE + rate: additive over pixels, so exact to check
    monkeypatch.setattr(refine, "REGION", 6)  # nine tiles with margins instead of one region
    assert len(list(refine.regions((16, 16)))) == 9
    cost, y = _primary_cost(shipped_codec, array, 2.0)
    with torch.no_grad():
        before = float(cost(torch.round(cost.deviation(y))))
        with torch.enable_grad():
            latent = refine.refine(y, cost, 12, refine.seeded(), lambda: None)
        cost.focus((slice(0, 16), slice(0, 16)), (slice(0, 16), slice(0, 16)))
        after = float(cost(torch.round(cost.deviation(latent))))
    assert after < before
    plain_stream = shipped_codec.encode(array, rate=2, layers=0)
    plain = np.asarray(shipped_codec.decode(plain_stream, beta=1).image)
    refined_stream = shipped_codec.encode(array, rate=2, layers=0, effort=1)
    refined = np.asarray(shipped_codec.decode(refined_stream, beta=1).image)
    error = lambda img: np.abs(img.astype(float) - array.astype(float)).mean(2)
    seams = np.zeros((256, 256), bool)
    for edge in (96, 192):  # tile borders (6 cells of 16 px)
        seams[edge - 4:edge + 4, :] = seams[:, edge - 4:edge + 4] = True
    # the refined image is no worse at the tile borders, relative to the rest, than the one-pass image
    ratio = lambda e: e[seams].mean() / e[~seams].mean()
    assert ratio(error(refined)) <= 1.05 * ratio(error(plain))
    # a move along the rate–distortion curve, not off it: fewer bytes for at most a small loss of PSNR
    assert len(refined_stream) < len(plain_stream) and psnr(array, refined) > psnr(array, plain) - 0.5


def test_cli_effort_with_a_size_target_and_its_errors(tmp_path, small_weights, kodak_crop):
    from PIL import Image

    source = tmp_path / "crop.png"
    Image.fromarray(kodak_crop).save(source)
    run = lambda *args: CliRunner().invoke(main, ["encode", str(source), "--weights", str(small_weights), *args])
    result = run("--effort", "1", "--size", "3k", "-o", str(tmp_path / "fit.rdc"), "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fit.rdc").stat().st_size <= 3000
    assert run("--effort", "4", "-o", str(tmp_path / "x.rdc")).exit_code == 2
