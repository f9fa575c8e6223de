"""The .rdc container of bitstream_spec.md: header, section table, payloads. Pure Python."""
from __future__ import annotations

import dataclasses
import struct
import zlib

from .errors import CorruptStream, UnsupportedVersion

MAGIC = b"\x89RDC"
VERSION_MAJOR = 2
"""Of streams of models without a checkerboard context."""
TWO_PASS_MAJOR = 3
"""Of streams whose model has one: each band of the primary ŷ is read in two passes (bitstream_spec.md),
which a 2.x reader would misread, so it refuses them by their major version."""
VERSION_MINOR = 0

PAD_MULTIPLE = 64
DEFAULT_MAX_PIXELS = 40_000_000
"""The reader's pixel limit (spec, rule 3) unless the user raises it; also applied to images to encode."""
"""Images are padded to a multiple of this; every latent shape follows from the padded size."""

SECTION_PRIMARY = 1
SECTION_RESIDUAL = 2

MODE_RGB = 0
MODE_GRAY = 1
MODES = {MODE_RGB: "RGB", MODE_GRAY: "L"}

_HEADER = struct.Struct(">4sBBHIIBBHd32sHH")  # 64 bytes
_ENTRY = struct.Struct(">BBHII")  # 12 bytes
_U32 = struct.Struct(">I")
_LATENT = struct.Struct(">II")  # symbols CRC-32, z length

assert _HEADER.size == 64 and _ENTRY.size == 12


@dataclasses.dataclass(frozen=True)
class Header:
    width: int
    height: int
    mode: int
    rate: float
    layers: int
    model_sha256: bytes
    band: int = 768
    """Height in pixels of the horizontal bands the latents are entropy-coded in (a multiple of 64)."""
    two_pass: bool = False
    """The primary's bands are coded anchors first (a model with a checkerboard context; version 3)."""

    @property
    def major(self) -> int:
        return TWO_PASS_MAJOR if self.two_pass else VERSION_MAJOR

    @property
    def version(self) -> str:
        return f"{self.major}.{VERSION_MINOR}"

    @property
    def bands(self) -> int:
        padded = -(-self.height // PAD_MULTIPLE) * PAD_MULTIPLE
        return -(-padded // self.band)


@dataclasses.dataclass(frozen=True)
class LatentPayload:
    """One entropy-coded latent: the CRC-32 of its symbols, its hyper string (may be empty) and one
    y string per band, top to bottom."""

    symbols_crc: int
    z: bytes
    y: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        lengths = b"".join(_U32.pack(len(b)) for b in self.y[:-1])
        return _LATENT.pack(self.symbols_crc, len(self.z)) + self.z + lengths + b"".join(self.y)

    @classmethod
    def from_bytes(cls, data: bytes, bands: int, what: str) -> "LatentPayload":
        if len(data) < _LATENT.size:
            raise CorruptStream(f"{what}: payload of {len(data)} bytes is too short")
        crc, z_len = _LATENT.unpack_from(data)
        offset = _LATENT.size + z_len + 4 * (bands - 1)
        if offset > len(data):
            raise CorruptStream(f"{what}: hyper latent and band lengths exceed the section")
        z = bytes(data[_LATENT.size:_LATENT.size + z_len])
        lengths = [_U32.unpack_from(data, _LATENT.size + z_len + 4 * i)[0] for i in range(bands - 1)]
        if sum(lengths) > len(data) - offset:
            raise CorruptStream(f"{what}: band lengths exceed the section")
        strings = []
        for length in lengths:
            strings.append(bytes(data[offset:offset + length]))
            offset += length
        strings.append(bytes(data[offset:]))
        return cls(crc, z, tuple(strings))


@dataclasses.dataclass(frozen=True)
class Section:
    kind: int
    index: int
    payload: bytes


@dataclasses.dataclass(frozen=True)
class Stream:
    header: Header
    primary: LatentPayload
    residual: tuple[LatentPayload, ...]
    """Residual layers 1..k that arrived intact (k may be below header.layers)."""


@dataclasses.dataclass(frozen=True)
class Parsed:
    stream: Stream
    sections: tuple[tuple[int, int, int], ...]
    """(type, index, length) of every table entry, for `rdc info`."""
    problems: tuple[str, ...]
    """Why residual layers above len(stream.residual) were dropped."""


def serialise(stream: Stream) -> bytes:
    h = stream.header
    if len(stream.residual) != h.layers:
        raise ValueError("header.layers must equal the number of residual payloads")
    sections = [Section(SECTION_PRIMARY, 0, stream.primary.to_bytes())]
    sections += [Section(SECTION_RESIDUAL, j + 1, p.to_bytes()) for j, p in enumerate(stream.residual)]
    head = _HEADER.pack(
        MAGIC, h.major, VERSION_MINOR, 0, h.width, h.height, h.mode, h.layers, h.band,
        h.rate, h.model_sha256, len(sections), 0,
    )
    table = b"".join(
        _ENTRY.pack(s.kind, s.index, 0, len(s.payload), zlib.crc32(s.payload)) for s in sections
    )
    head_and_table = head + table
    return head_and_table + _U32.pack(zlib.crc32(head_and_table)) + b"".join(s.payload for s in sections)


def parse_header(data: bytes) -> tuple[Header, list[tuple[int, int, int, int]], int]:
    """Header, section table entries (type, index, length, crc) and the payloads' offset."""
    if len(data) < 4 or data[:4] != MAGIC:
        raise CorruptStream("not an .rdc stream (bad magic number)")
    if len(data) < _HEADER.size:
        raise CorruptStream(f"truncated header ({len(data)} of {_HEADER.size} bytes)")
    (_, major, minor, _flags, width, height, mode, layers, band, rate, sha,
     count, _r2) = _HEADER.unpack_from(data)
    if major not in (VERSION_MAJOR, TWO_PASS_MAJOR):
        raise UnsupportedVersion(f"stream version {major}.{minor}; this decoder reads versions "
                                 f"{VERSION_MAJOR}.x and {TWO_PASS_MAJOR}.x")
    table_end = _HEADER.size + count * _ENTRY.size
    if len(data) < table_end + _U32.size:
        raise CorruptStream("truncated section table")
    (stored_crc,) = _U32.unpack_from(data, table_end)
    if zlib.crc32(data[:table_end]) != stored_crc:
        raise CorruptStream("header CRC mismatch")
    if mode not in MODES:
        raise CorruptStream(f"unknown colour mode {mode}")
    if width < 1 or height < 1:
        raise CorruptStream(f"invalid image size {width}x{height}")
    if not (rate == rate) or rate < 0:  # NaN or negative
        raise CorruptStream(f"invalid rate {rate}")
    if band < PAD_MULTIPLE or band % PAD_MULTIPLE:
        raise CorruptStream(f"invalid band height {band}")
    entries = [_ENTRY.unpack_from(data, _HEADER.size + i * _ENTRY.size) for i in range(count)]
    entries = [(kind, index, length, crc) for kind, index, _res, length, crc in entries]
    header = Header(width, height, mode, rate, layers, bytes(sha), band, major == TWO_PASS_MAJOR)
    return header, entries, table_end + _U32.size


def parse(data: bytes, strict: bool = False) -> Parsed:
    """Parse and verify a stream.

    The primary section must be intact. Residual layers are kept up to the
    first one that is missing, cut short or fails its CRC; the reasons are
    returned (or raised as CorruptStream when `strict`). Sections of unknown
    type are skipped.
    """
    header, entries, offset = parse_header(data)
    primary = None
    residual: dict[int, LatentPayload] = {}
    problems: list[str] = []
    for kind, index, length, crc in entries:
        start, offset = offset, offset + length
        payload = data[start:offset] if offset <= len(data) else None
        if kind == SECTION_PRIMARY:
            if payload is None:
                raise CorruptStream("primary section is truncated")
            if zlib.crc32(payload) != crc:
                raise CorruptStream("primary section CRC mismatch")
            primary = LatentPayload.from_bytes(payload, header.bands, "primary section")
        elif kind == SECTION_RESIDUAL:
            if payload is None:
                problems.append(f"residual layer {index} is truncated")
            elif zlib.crc32(payload) != crc:
                problems.append(f"residual layer {index} CRC mismatch")
            elif index in residual:
                problems.append(f"residual layer {index} appears twice")
            else:
                try:
                    residual[index] = LatentPayload.from_bytes(payload, header.bands, f"residual layer {index}")
                except CorruptStream as e:
                    problems.append(str(e))
    if primary is None:
        raise CorruptStream("stream has no primary section")
    layers = []
    for j in range(1, header.layers + 1):
        if j not in residual:
            if not any(p.startswith(f"residual layer {j} ") for p in problems):
                problems.append(f"residual layer {j} is missing")
            break
        layers.append(residual[j])
    if problems and strict:
        raise CorruptStream(problems[0])
    table = tuple((kind, index, length) for kind, index, length, _ in entries)
    return Parsed(Stream(header, primary, tuple(layers)), table, tuple(problems))


def drop_layers(data: bytes, layers: int) -> bytes:
    """The same stream with only residual layers 1..`layers`; payloads are copied, not re-encoded."""
    parsed = parse(data, strict=False)
    stream = parsed.stream
    if layers > len(stream.residual):
        raise CorruptStream(f"stream has {len(stream.residual)} intact residual layers, {layers} requested")
    header = dataclasses.replace(stream.header, layers=layers)
    return serialise(Stream(header, stream.primary, stream.residual[:layers]))
