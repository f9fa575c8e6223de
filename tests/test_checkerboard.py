"""A model with a checkerboard context: its primary latent is coded in two passes per band."""
import struct
import zlib

import numpy as np
import pytest
import torch

from rdccodec.codec import Codec
from rdccodec.errors import CorruptStream, LatentMismatch
from rdccodec.nets.model import load_weights

from .conftest import psnr


def test_two_pass_streams_decode_alike_in_any_bands_tiles_and_threads(checkerboard_weights, checkerboard_codec, kodak_crop):
    """97×131 pads to 128×192: 64-pixel bands make two, each with its own context (zero beyond its edges)."""
    codec = checkerboard_codec
    whole = codec.encode(kodak_crop, rate=2.5)
    banded = Codec(checkerboard_weights, band=64).encode(kodak_crop, rate=2.5)
    assert codec.info(banded)["sections"][0]["bytes"] != codec.info(whole)["sections"][0]["bytes"]
    for data in (whole, banded):
        expected = np.asarray(codec.decode(data, beta=0).image)
        small = Codec(checkerboard_weights, tile=64, threads=1).decode(data, beta=0)
        assert np.array_equal(np.asarray(small.image), expected)


def test_the_decoded_primary_is_the_models_own(checkerboard_weights, checkerboard_codec, kodak_crop):
    """β=1 pixels match the float model's x̂1, whose non-anchor cells count from the corrected means."""
    model, _ = load_weights(checkerboard_weights)
    codec = checkerboard_codec
    padded = np.pad(kodak_crop, ((0, 31), (0, 61), (0, 0)), mode="edge")
    x = torch.from_numpy(padded).permute(2, 0, 1)[None].double() / 255
    with torch.no_grad():
        x_hat = model.primary(x, torch.tensor([2.0], dtype=torch.float64))["x_hat"].clamp(0, 1)
    expected = np.round(x_hat[0].permute(1, 2, 0).numpy() * 255)[:97, :131].astype(np.uint8)
    decoded = np.asarray(codec.decode(codec.encode(kodak_crop, rate=2.0, layers=0), beta=1).image)
    assert psnr(decoded, expected) > 40


def test_the_second_pass_reads_the_contexts_parameters(checkerboard_weights, kodak_crop):
    """The context's scales select the tables of the non-anchor symbols (other scales: the checksum
    fails) and its means place them (other means: other pixels)."""
    data = Codec(checkerboard_weights).encode(kodak_crop, rate=3.0, layers=0)
    expected = np.asarray(Codec(checkerboard_weights).decode(data, beta=1).image)
    for half, effect in ((1, "scales"), (0, "means")):
        altered = Codec(checkerboard_weights)
        bias = altered.model.primary.hyperprior.context.net[-1].bias
        channels = bias.shape[0] // 2
        bias[half * channels:(half + 1) * channels] += 0.7
        if effect == "scales":
            with pytest.raises(LatentMismatch, match="primary section"):
                altered.decode(data, beta=1)
        else:
            assert not np.array_equal(np.asarray(altered.decode(data, beta=1).image), expected)


def test_refined_two_pass_streams_decode(checkerboard_codec, kodak_crop):
    codec = checkerboard_codec
    plain = codec.encode(kodak_crop, rate=5.0, layers=1)
    refined = codec.encode(kodak_crop, rate=5.0, layers=1, effort=1)
    assert refined != plain
    assert codec.decode(refined, beta=0).image.size == (131, 97)


def test_a_two_pass_stream_is_version_3_and_read_only_as_one(checkerboard_codec, small_codec, kodak_crop):
    data = bytearray(checkerboard_codec.encode(kodak_crop, rate=0.5, layers=0))
    assert checkerboard_codec.info(bytes(data))["version"] == "3.0"
    assert small_codec.info(small_codec.encode(kodak_crop, rate=0.5, layers=0))["version"] == "2.0"
    data[4] = 2  # claims one pass: refused, not misread
    end = 64 + 12 * struct.unpack_from(">H", data, 60)[0]
    data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[:end])))
    with pytest.raises(CorruptStream, match="a version 2.0 stream cannot come from this model, which codes two passes"):
        checkerboard_codec.decode(bytes(data))
