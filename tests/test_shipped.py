"""End to end with the shipped weights on a Kodak crop."""
import hashlib
import json

import numpy as np
import pytest

from rdccodec.codec import Codec, default_weights_path

from .conftest import psnr
from .test_codec import assert_matches_forward_path, forward_path


def test_model_card_describes_the_shipped_file():
    path = default_weights_path()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == Codec().sha256
    for stage in ("stage1", "stage2"):
        assert card[stage]["iterations"] > 0 and card[stage]["seconds"] > 0
        assert "loss" in card[stage]["final_losses"]
    assert card["training_command"]


@pytest.mark.parametrize("rate,layers,beta", [(0, 3, 1.0), (3, 3, 0.0), (5, 2, 0.5)])
def test_decoded_pixels_equal_the_quantised_forward_path(shipped_codec, kodak_crop, rate, layers, beta):
    data = shipped_codec.encode(kodak_crop, rate=rate, layers=layers)
    assert_matches_forward_path(np.asarray(shipped_codec.decode(data, beta=beta).image),
                                forward_path(shipped_codec, kodak_crop, rate, layers, beta))


def test_bytes_grow_with_rate_and_fractions_fall_between(shipped_codec, kodak_crop):
    rates = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]
    sizes = [len(shipped_codec.encode(kodak_crop, rate=r, layers=0)) for r in rates]
    assert all(a < b for a, b in zip(sizes, sizes[1:])), sizes


def test_layers_add_bytes_and_fidelity(shipped_codec, kodak_crop):
    """Every layer adds bytes and fidelity. `rdc eval` reports the same over all of Kodak (each step rises
    on all 144 image–rate pairs, by at least 0.58 dB, README); on this crop at rate 2 the shipped weights'
    layers add 0.91, 0.97 and 2.64 dB."""
    data = shipped_codec.encode(kodak_crop, rate=2)
    report = shipped_codec.info(data)
    sizes = list(report["bpp_per_layers"].values())
    assert all(a < b for a, b in zip(sizes, sizes[1:]))
    quality = [psnr(kodak_crop, np.asarray(shipped_codec.decode(data, beta=0, layers=k).image)) for k in range(4)]
    assert all(b > a + 0.25 for a, b in zip(quality, quality[1:])), quality


def test_beta_zero_is_at_least_as_faithful_as_beta_one(shipped_codec, kodak_crop):
    data = shipped_codec.encode(kodak_crop, rate=1)
    quality = [psnr(kodak_crop, np.asarray(shipped_codec.decode(data, beta=b).image)) for b in (1.0, 0.5, 0.0)]
    assert quality[0] <= quality[1] <= quality[2], quality


def test_two_threads_encode_one_thread_decode_identical(kodak_crop):
    two, one = Codec(threads=2), Codec(threads=1)
    data = two.encode(kodak_crop, rate=5)
    np.testing.assert_array_equal(np.asarray(one.decode(data).image), np.asarray(two.decode(data).image))


@pytest.mark.parametrize("rate", [0, 5])
def test_bfloat16_analyses_cost_little(kodak_crop, rate):
    """Where the CPU has native bfloat16 the encoder's analyses use it; the streams stay within 1 % of
    the float32 ones in size and 0.1 dB in PSNR (this crop at rate 0 measures 0.004 dB
    with the shipped weights)."""
    fast, precise = Codec(), Codec()
    fast.analysis_precision, precise.analysis_precision = "bfloat16", "float32"
    results = []
    for codec in (fast, precise):
        data = codec.encode(kodak_crop, rate=rate)
        results.append((len(data), psnr(kodak_crop, np.asarray(codec.decode(data).image))))
    (bytes_fast, psnr_fast), (bytes_precise, psnr_precise) = results
    assert abs(bytes_fast / bytes_precise - 1) < 0.01
    assert abs(psnr_fast - psnr_precise) < 0.1
