"""The .rdc container as bitstream_spec.md describes it."""
import dataclasses
import struct
import zlib

import pytest

from rdccodec import container
from rdccodec.errors import CorruptStream, UnsupportedVersion


def make_stream(layers=3):
    return container.Stream(
        container.Header(width=7, height=13, mode=container.MODE_RGB, rate=2.5, layers=layers, model_sha256=bytes(range(32))),
        container.LatentPayload(0x1234, b"zz", (b"primary-y",)),
        tuple(container.LatentPayload(j, b"hyper" if j == 0 else b"", (b"layer%d" % j,)) for j in range(layers)),
    )


def table_end(data):
    count = struct.unpack_from(">H", data, 60)[0]
    return 64 + 12 * count + 4


def test_serialise_parse_round_trip():
    stream = make_stream()
    parsed = container.parse(container.serialise(stream))
    assert parsed.stream == stream
    assert parsed.problems == ()
    assert [s[:2] for s in parsed.sections] == [(1, 0), (2, 1), (2, 2), (2, 3)]


def test_bands_carry_their_lengths():
    """200 rows pad to 256: four bands of 64 rows; every band but the last has its length written."""
    header = container.Header(5, 200, container.MODE_RGB, 1.0, 1, bytes(32), band=64)
    assert header.bands == 4
    primary = container.LatentPayload(7, b"z", (b"a", b"", b"ccc", b"dd"))
    stream = container.Stream(header, primary, (container.LatentPayload(8, b"", (b"1", b"2", b"3", b"4")),))
    data = container.serialise(stream)
    assert container.parse(data).stream == stream
    payload = primary.to_bytes()
    assert payload == struct.pack(">II", 7, 1) + b"z" + struct.pack(">III", 1, 0, 3) + b"acccdd"
    too_long = struct.pack(">II", 7, 1) + b"z" + struct.pack(">III", 1, 0, 300) + b"acccdd"
    with pytest.raises(CorruptStream, match="band lengths"):
        container.LatentPayload.from_bytes(too_long, 4, "primary section")


@pytest.mark.parametrize("band", [0, 32, 100])
def test_band_height_must_be_a_multiple_of_64(band):
    data = bytearray(container.serialise(make_stream()))
    struct.pack_into(">H", data, 18, band)
    end = table_end(data) - 4
    data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[:end])))
    with pytest.raises(CorruptStream, match="band"):
        container.parse(bytes(data))


def test_header_layout_is_big_endian_and_fixed():
    data = container.serialise(make_stream())
    assert data[:4] == b"\x89RDC"
    assert data[4:6] == bytes([2, 0])
    assert struct.unpack_from(">H", data, 18) == (768,)
    assert struct.unpack_from(">II", data, 8) == (7, 13)
    assert struct.unpack_from(">d", data, 20) == (2.5,)
    assert data[28:60] == bytes(range(32))


def test_bad_magic_is_rejected():
    with pytest.raises(CorruptStream, match="magic"):
        container.parse(b"PNG!" + container.serialise(make_stream())[4:])


def test_newer_major_version_is_refused():
    data = bytearray(container.serialise(make_stream()))
    data[4] = 4
    with pytest.raises(UnsupportedVersion, match="stream version 4.0; this decoder reads versions 2.x and 3.x"):
        container.parse(bytes(data))


def test_two_pass_streams_are_version_3():
    """A 2.x reader would read a two-pass band as one pass: the major version makes it refuse instead."""
    stream = make_stream()
    two_pass = dataclasses.replace(stream, header=dataclasses.replace(stream.header, two_pass=True))
    data = container.serialise(two_pass)
    assert data[4:6] == bytes([3, 0]) and container.parse(data).stream == two_pass


def test_newer_minor_version_is_read():
    data = bytearray(container.serialise(make_stream()))
    data[5] = 7
    end = table_end(data) - 4
    data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[:end])))
    assert container.parse(bytes(data)).stream == make_stream()


def test_header_corruption_is_caught_by_crc():
    data = bytearray(container.serialise(make_stream()))
    data[9] ^= 0x40  # width
    with pytest.raises(CorruptStream, match="header CRC"):
        container.parse(bytes(data))


def test_corrupt_primary_is_an_error():
    data = bytearray(container.serialise(make_stream()))
    data[table_end(data) + 9] ^= 1
    with pytest.raises(CorruptStream, match="primary"):
        container.parse(bytes(data))


def test_corrupt_residual_layer_keeps_lower_layers():
    stream = make_stream()
    data = bytearray(container.serialise(stream))
    # the payload of layer 2 starts after the primary and layer 1 payloads
    offset = table_end(data) + len(stream.primary.to_bytes()) + len(stream.residual[0].to_bytes())
    data[offset + 8] ^= 0xFF
    parsed = container.parse(bytes(data))
    assert parsed.stream.residual == stream.residual[:1]
    assert parsed.problems == ("residual layer 2 CRC mismatch",)
    with pytest.raises(CorruptStream, match="residual layer 2"):
        container.parse(bytes(data), strict=True)


def test_truncation_keeps_the_intact_prefix():
    stream = make_stream()
    data = container.serialise(stream)
    last = len(stream.residual[-1].to_bytes())
    parsed = container.parse(data[:-last])
    assert parsed.stream.residual == stream.residual[:2]
    assert "residual layer 3 is truncated" in parsed.problems


def test_unknown_section_type_is_skipped():
    stream = make_stream(layers=1)
    data = container.serialise(stream)
    count = struct.unpack_from(">H", data, 60)[0]
    extra = b"future data"
    head = bytearray(data[:64])
    struct.pack_into(">H", head, 60, count + 1)
    table = data[64:64 + 12 * count] + struct.pack(">BBHII", 99, 0, 0, len(extra), zlib.crc32(extra))
    body = data[64 + 12 * count + 4:]
    new = bytes(head) + table
    new += struct.pack(">I", zlib.crc32(new)) + body + extra
    parsed = container.parse(new)
    assert parsed.stream == stream and parsed.problems == ()


@pytest.mark.parametrize("cut", [0, 3, 20, 63, 64, 80])
def test_truncated_header_is_an_error(cut):
    with pytest.raises(CorruptStream):
        container.parse(container.serialise(make_stream())[:cut])


def test_every_cut_either_fails_cleanly_or_keeps_a_layer_prefix():
    stream = make_stream()
    data = container.serialise(stream)
    for cut in range(len(data)):
        try:
            parsed = container.parse(data[:cut])
        except CorruptStream:
            continue
        assert parsed.stream.primary == stream.primary
        assert parsed.stream.residual == stream.residual[:len(parsed.stream.residual)]
