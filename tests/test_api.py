"""The importable Python API: encode/decode/info and Codec, over paths, PIL images and arrays."""
import numpy as np
import pytest
from PIL import Image

import rdccodec


def test_top_level_functions_use_the_shipped_model(tmp_path, kodak_crop):
    path = tmp_path / "img.png"
    Image.fromarray(kodak_crop).save(path)
    data = rdccodec.encode(path, rate=2, layers=1)
    picture = rdccodec.decode(data, beta=0.5)
    assert isinstance(picture, Image.Image) and picture.size == (131, 97)
    report = rdccodec.info(data)
    assert report["layers"] == 1 and report["rate"] == 2.0


def test_codec_accepts_paths_pil_images_and_arrays(small_weights, tmp_path, kodak_crop):
    codec = rdccodec.Codec(small_weights)
    path = tmp_path / "img.png"
    Image.fromarray(kodak_crop).save(path)
    from_array = codec.encode(kodak_crop, rate=3)
    assert codec.encode(path, rate=3) == from_array
    assert codec.encode(str(path), rate=3) == from_array
    assert codec.encode(Image.fromarray(kodak_crop), rate=3) == from_array
    assert codec.encode(path.read_bytes(), rate=3) == from_array


def test_what_an_image_loses_is_a_warning(small_weights, kodak_crop):
    codec = rdccodec.Codec(small_weights)
    rgba = Image.fromarray(kodak_crop).convert("RGBA")
    with pytest.warns(rdccodec.ImageNote, match="alpha channel is discarded"):
        data = codec.encode(rgba, rate=1)
    assert data == codec.encode(kodak_crop, rate=1)  # the colour channels code as they would alone


def test_errors_are_importable_types(small_weights):
    codec = rdccodec.Codec(small_weights)
    try:
        codec.decode(b"not a stream")
    except rdccodec.CorruptStream as e:
        assert "magic" in str(e)
    else:
        raise AssertionError("expected CorruptStream")


def test_array_input_must_be_uint8_rgb(small_weights):
    codec = rdccodec.Codec(small_weights)
    for bad in (np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)):
        try:
            codec.encode(bad)
        except rdccodec.UnsupportedImage:
            continue
        raise AssertionError("expected UnsupportedImage")
