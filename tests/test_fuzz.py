"""Hostile streams: mutated, truncated and spliced files end in a clean error or a valid decode."""
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdccodec import container
from rdccodec.codec import Codec
from rdccodec.errors import RDCError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def valid(small_codec, kodak_crop):
    return small_codec.encode(kodak_crop, rate=2), small_codec.encode(kodak_crop[::-1].copy(), rate=4, layers=2)


def decode_or_clean_error(codec, data):
    try:
        decoded = codec.decode(data)
    except RDCError as e:
        assert str(e) and "\n" not in str(e)
        return None
    assert decoded.image.size[0] >= 1
    return decoded


@FUZZ
@given(data=st.data())
def test_byte_mutations(small_codec, valid, data):
    stream = bytearray(data.draw(st.sampled_from(valid)))
    for _ in range(data.draw(st.integers(1, 8))):
        stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(st.integers(0, 255))
    decode_or_clean_error(small_codec, bytes(stream))


@FUZZ
@given(data=st.data())
def test_splices(small_codec, valid, data):
    a, b = valid
    cut_a, cut_b = data.draw(st.integers(0, len(a))), data.draw(st.integers(0, len(b)))
    decode_or_clean_error(small_codec, a[:cut_a] + b[cut_b:])


@FUZZ
@given(payload=st.binary(max_size=400), section=st.sampled_from(["z", "y", "layer"]))
def test_hostile_payloads_with_valid_crcs_never_reach_the_coder_unguarded(small_codec, valid, payload, section):
    """CRCs recomputed: garbage reaches the rANS decoder; the symbol checksum must catch it."""
    stream = container.parse(valid[0]).stream
    primary, residual = stream.primary, list(stream.residual)
    if section == "z":
        primary = container.LatentPayload(primary.symbols_crc, payload, primary.y)
    elif section == "y":
        primary = container.LatentPayload(primary.symbols_crc, primary.z, (payload,))
    else:
        residual[0] = container.LatentPayload(residual[0].symbols_crc, payload[:10], (payload[10:],))
    data = container.serialise(container.Stream(stream.header, primary, tuple(residual)))
    decode_or_clean_error(small_codec, data)


@FUZZ
@given(width=st.integers(1, 2**32 - 1), height=st.integers(1, 2**32 - 1))
def test_declared_size_is_checked_before_allocation(small_weights, valid, width, height):
    codec = Codec(small_weights, max_pixels=300_000)
    stream = container.parse(valid[0]).stream
    header = container.Header(width, height, 0, 2.0, 3, stream.header.model_sha256)
    data = container.serialise(container.Stream(header, stream.primary, stream.residual))
    decoded = decode_or_clean_error(codec, data)
    assert decoded is None or width * height <= 300_000


def test_twenty_bytes_do_not_allocate(small_codec):
    with pytest.raises(RDCError):
        small_codec.decode(b"\x89RDC" + bytes(16))


def test_every_cut_of_a_real_stream_follows_the_spec(small_codec, valid):
    data = valid[1]
    table_end = 64 + 12 * 3 + 4
    primary_end = table_end + container.parse(data).sections[0][2]
    seen = set()
    for cut in range(0, len(data), 7):
        decoded = decode_or_clean_error(small_codec, data[:cut])
        if cut < primary_end:
            assert decoded is None
        else:
            assert decoded is not None and decoded.layers < 2
            seen.add(decoded.layers)
    assert decode_or_clean_error(small_codec, data).layers == 2
    assert seen == {0, 1}
