"""Round trips through real bytes with a small random-initialised model."""
import numpy as np
import pytest
import torch
from PIL import Image

from rdccodec import container
from rdccodec.codec import Codec
from rdccodec.errors import LatentMismatch, LimitExceeded, ModelMismatch, RDCError


def forward_path(codec: Codec, array: np.ndarray, rate: float, layers: int, beta: float) -> np.ndarray:
    """What the model's own quantised forward pass gives, rounded to 8 bits: the codec's analyses (the
    encoder's precision, bfloat16 or float32), then quantisation and the exact syntheses in float64."""
    model, fast = codec.model, codec._encoder_nets
    with torch.no_grad():
        x = torch.from_numpy(array.copy()).permute(2, 0, 1)[None].double() / 255
        h, w = array.shape[:2]
        x = torch.nn.functional.pad(x, (0, -w % 64, 0, -h % 64), mode="replicate")
        level = torch.tensor([rate], dtype=torch.float64)
        y = codec._analysis(fast.primary.g_a)(x.float()).double()
        x_hat = model.primary.g_s(model.primary.hyperprior(y, level)["y_hat"]).clamp(0, 1)
        out = x_hat
        if layers and beta < 1:
            y_r = codec._analysis(fast.residual.analyse)((x - x_hat).float(), x_hat.float()).double()
            y_r_hat = model.residual.hyperprior(y_r, level, torch.tensor([layers]))["y_hat"]
            out = x_hat + (1 - beta) * model.residual.synthesise(y_r_hat, x_hat)
        out = out[0, :, :h, :w].clamp(0, 1)
        return torch.round(out * 255).to(torch.uint8).permute(1, 2, 0).numpy()


def assert_matches_forward_path(decoded: np.ndarray, expected: np.ndarray) -> None:
    """The encoder holds y_r in float16 and computes the gained latent in float32 where the forward pass
    uses float64, so now and then a symbol or an 8-bit value rounds the other way: a difference of a few
    levels in a few values (measured: ≥ 64 dB apart on the shipped model)."""
    from .conftest import psnr

    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(int) - expected).max() <= 4
    assert psnr(decoded, expected) >= 55


@pytest.mark.parametrize("rate,layers,beta", [(0, 3, 0.0), (3, 3, 1.0), (2.5, 2, 0.0), (5, 1, 0.5)])
def test_decoded_pixels_equal_the_quantised_forward_path(small_codec, kodak_crop, rate, layers, beta):
    data = small_codec.encode(kodak_crop, rate=rate, layers=layers)
    decoded = np.asarray(small_codec.decode(data, beta=beta).image)
    assert decoded.shape == kodak_crop.shape
    assert_matches_forward_path(decoded, forward_path(small_codec, kodak_crop, rate, layers, beta))


def test_bytes_grow_with_rate(small_codec, kodak_crop):
    sizes = [len(small_codec.encode(kodak_crop, rate=r, layers=0)) for r in range(small_codec.levels)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_fractional_rate_falls_between_its_neighbours(small_codec, kodak_crop):
    low, mid, high = (len(small_codec.encode(kodak_crop, rate=r, layers=0)) for r in (2, 2.5, 3))
    assert low <= mid <= high


def test_bytes_grow_with_layers(small_codec, kodak_crop):
    sizes = [len(small_codec.encode(kodak_crop, rate=2, layers=k)) for k in range(small_codec.layers + 1)]
    assert all(a < b for a, b in zip(sizes, sizes[1:]))


def test_layers_option_at_decode_uses_a_prefix(small_codec, kodak_crop):
    full = small_codec.encode(kodak_crop, rate=2)
    for k in range(small_codec.layers + 1):
        decoded = small_codec.decode(full, layers=k)
        assert decoded.layers == k
        assert_matches_forward_path(np.asarray(decoded.image), forward_path(small_codec, kodak_crop, 2, k, 0.0))


@pytest.mark.parametrize("size", [(1, 1), (13, 7), (64, 64), (65, 129)])
def test_odd_sizes_keep_their_geometry(small_codec, size):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    image = small_codec.decode(small_codec.encode(array, rate=1)).image
    assert image.size == (size[1], size[0])


def test_grayscale_comes_back_grayscale(small_codec, kodak_crop):
    gray = Image.fromarray(kodak_crop).convert("L")
    data = small_codec.encode(gray, rate=2)
    assert small_codec.info(data)["mode"] == "L"
    assert small_codec.decode(data).image.mode == "L"


def test_encode_with_two_threads_decode_with_one_gives_identical_pixels(small_weights, kodak_crop):
    two, one = Codec(small_weights, threads=2), Codec(small_weights, threads=1)
    data = two.encode(kodak_crop, rate=4)
    assert data == one.encode(kodak_crop, rate=4)
    np.testing.assert_array_equal(np.asarray(one.decode(data).image), np.asarray(two.decode(data).image))


def test_drifting_decoder_is_caught_by_the_latent_checksum(small_weights, kodak_crop):
    data = Codec(small_weights).encode(kodak_crop, rate=3)
    drifted = Codec(small_weights)
    with torch.no_grad():  # perturb the hyper synthesis: other scales, other tables
        drifted.model.primary.hyperprior.h_s[-1].bias.add_(0.7)
    with pytest.raises(LatentMismatch, match="checksum"):
        drifted.decode(data)


def test_stream_from_other_weights_is_refused_naming_both(small_codec, other_weights, kodak_crop):
    other = Codec(other_weights)
    data = other.encode(kodak_crop, rate=1)
    with pytest.raises(ModelMismatch) as error:
        small_codec.decode(data)
    assert other.sha256[:16] in str(error.value) and small_codec.sha256[:16] in str(error.value)


def test_declared_size_over_the_limit_is_refused_before_decoding(small_weights, kodak_crop):
    data = Codec(small_weights).encode(kodak_crop, rate=1)
    with pytest.raises(LimitExceeded):
        Codec(small_weights, max_pixels=1000).decode(data)


def test_rate_outside_the_model_is_refused(small_codec, kodak_crop):
    with pytest.raises(RDCError, match="rate"):
        small_codec.encode(kodak_crop, rate=5.5)


def test_damaged_residual_layer_decodes_the_lower_layers(small_codec, kodak_crop):
    data = bytearray(small_codec.encode(kodak_crop, rate=2))
    data[-3] ^= 0x55  # inside the last layer
    decoded = small_codec.decode(bytes(data))
    assert decoded.layers == small_codec.layers - 1
    assert decoded.problems == (f"residual layer {small_codec.layers} CRC mismatch",)
    assert_matches_forward_path(
        np.asarray(decoded.image), forward_path(small_codec, kodak_crop, 2, small_codec.layers - 1, 0.0))


def test_info_reports_sections_and_bpp_per_layer_prefix(small_codec, kodak_crop):
    data = small_codec.encode(kodak_crop, rate=2)
    report = small_codec.info(data)
    assert report["bytes"] == len(data)
    assert [s["type"] for s in report["sections"]] == ["primary"] + ["residual"] * small_codec.layers
    bpps = list(report["bpp_per_layers"].values())
    assert bpps == sorted(bpps) and bpps[-1] == pytest.approx(8 * len(data) / kodak_crop[..., 0].size)
    assert report["model_sha256"] == small_codec.sha256


def test_tiles_and_bands_leave_no_seams(small_weights):
    """Decoder tiles overlap by more than the receptive field: the pixels do not depend on the tile size.
    An encoder with small tiles writes several bands and loses nothing measurable."""
    from .conftest import KODAK, psnr

    with Image.open(KODAK / "kodim05.png") as im:
        array = np.asarray(im.convert("RGB"))[:300, :450].copy()
    whole, tiled = Codec(small_weights), Codec(small_weights, tile=128, band=128)
    banded = tiled.encode(array, rate=4)
    assert container.parse(banded).stream.header.band == 128
    assert len(container.parse(banded).stream.primary.y) == 3  # 300 rows, padded to 320, in bands of 128
    pixels = np.asarray(whole.decode(banded).image)
    np.testing.assert_array_equal(np.asarray(tiled.decode(banded).image), pixels)
    one_band = whole.encode(array, rate=4)
    assert abs(len(banded) - len(one_band)) < 0.01 * len(one_band)
    reference = np.asarray(whole.decode(one_band).image)
    assert abs(psnr(array, pixels) - psnr(array, reference)) < 0.02
