"""Unusual inputs: each is coded (with the documented conversion) or refused with one line."""
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from rdccodec import images
from rdccodec.errors import ImageNote, LimitExceeded, UnsupportedImage


def saved(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


RNG = np.random.default_rng(0)
RGB = Image.fromarray(RNG.integers(0, 256, (13, 7, 3), dtype=np.uint8))


@pytest.mark.parametrize("make,mode,size,loses", [
    (lambda: saved(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), "RGB", (1, 1), None),
    (lambda: saved(RGB, "PNG"), "RGB", (7, 13), None),
    (lambda: saved(RGB.convert("L"), "PNG"), "L", (7, 13), None),
    (lambda: saved(RGB.convert("LA"), "PNG"), "L", (7, 13), "alpha channel is discarded"),
    (lambda: saved(RGB.convert("RGBA"), "PNG"), "RGB", (7, 13), "alpha channel is discarded"),
    (lambda: saved(RGB.convert("P"), "PNG"), "RGB", (7, 13), None),
    (lambda: saved(Image.fromarray((np.arange(91).reshape(13, 7) * 700).astype(np.uint16)), "PNG"), "L", (7, 13),
     "16-bit samples are reduced to 8 bits"),
    (lambda: saved(RGB.convert("CMYK"), "JPEG"), "RGB", (7, 13), None),
    (lambda: saved(RGB, "GIF", save_all=True, append_images=[RGB.rotate(90)]), "RGB", (7, 13),
     "only the first of 2 frames is coded"),
])
def test_unusual_images_are_coded(small_codec, make, mode, size, loses):
    data = make()
    array, colour_mode, _ = images.load(data)
    assert array.shape == (size[1], size[0], 3) and array.dtype == np.uint8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decoded = small_codec.decode(small_codec.encode(data, rate=1)).image
    assert [str(w.message) for w in caught if w.category is ImageNote] == ([loses] if loses else [])
    assert decoded.mode == mode and decoded.size == size


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    data = saved(RGB, "JPEG", exif=exif.tobytes())
    array, _, _ = images.load(data)
    assert array.shape[:2] == (7, 13)


def test_sixteen_bit_is_scaled_not_clipped():
    ramp = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    array, _, notes = images.load(saved(ramp, "PNG"))
    assert array.max() == 255 and any("16-bit" in n for n in notes)


@pytest.mark.parametrize("data", [b"", b"hello, I am a text file\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_non_images_are_refused(data):
    with pytest.raises(UnsupportedImage):
        images.load(data)


def test_text_file_named_png_is_refused_by_the_cli(tmp_path, small_weights):
    from click.testing import CliRunner

    from rdccodec.cli import main

    (tmp_path / "fake.png").write_text("not an image")
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "fake.png"), "--weights", str(small_weights)])
    assert result.exit_code == 1 and "fake.png" in result.stderr
    assert not (tmp_path / "fake.rdc").exists()


def test_pixel_limit_is_checked_from_the_header_before_decoding(monkeypatch):
    data = saved(Image.new("RGB", (300, 200)), "PNG")
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(LimitExceeded, match="300x200 is 60000 pixels.*--max-pixels"):
        images.load(data, max_pixels=50_000)
    assert decoded == []


def test_the_limit_replaces_pillows_decompression_bomb_check():
    """Pillow alone refuses 2 × 89 megapixels; rdc's own limit decides (here 200 megapixels)."""
    before = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 1000  # a stand-in: Pillow would refuse 2000 pixels as a bomb
        array, _, _ = images.load(saved(Image.new("RGB", (50, 40)), "PNG"), max_pixels=200_000_000)
        assert array.shape == (40, 50, 3)
        with pytest.raises(UnsupportedImage):
            images.load(saved(Image.new("RGB", (50, 40)), "PNG"))
        assert Image.MAX_IMAGE_PIXELS == 1000
    finally:
        Image.MAX_IMAGE_PIXELS = before
