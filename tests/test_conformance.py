"""Conformance: the committed streams of tests/vectors decode here to exactly the pixels they decoded to on
the machine that made them (scripts/conformance_vectors.py; its CPU is in the manifest) — the claim of
bitstream_spec.md that a stream decodes alike on any CPU, instruction set and thread count."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

from rdccodec.codec import Codec

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())


def mismatches(codec: Codec) -> list[str]:
    """Each decode of the manifest that comes out otherwise here (pixels, mode or size)."""
    found = []
    for stream in MANIFEST["streams"]:
        data = (VECTORS / stream["file"]).read_bytes()
        for check in stream["decodes"]:
            image = codec.decode(data, beta=check["beta"], layers=check["layers"]).image
            pixels = hashlib.sha256(np.ascontiguousarray(np.asarray(image)).tobytes()).hexdigest()
            if (pixels, image.mode, list(image.size)) != (check["pixels_sha256"], check["mode"], check["size"]):
                found.append(f"{stream['file']} β={check['beta']} layers={check['layers']}")
    return found


def test_vectors_are_made_with_the_shipped_weights(shipped_codec):
    assert MANIFEST["weights_sha256"] == shipped_codec.sha256, \
        "the shipped weights changed: re-make the vectors with python scripts/conformance_vectors.py"
    for stream in MANIFEST["streams"]:
        assert hashlib.sha256((VECTORS / stream["file"]).read_bytes()).hexdigest() == stream["sha256"]


def test_vectors_decode_to_their_pixels(shipped_codec):
    assert sum(len(s["decodes"]) for s in MANIFEST["streams"]) >= 20
    assert mismatches(shipped_codec) == []


def test_vectors_decode_alike_in_small_tiles_on_one_thread():
    assert mismatches(Codec(threads=1, tile=64)) == []


def test_vectors_decode_alike_without_vector_instructions():
    """Another CPU, emulated: PyTorch's elementwise kernels in plain scalar code (ATEN_CPU_CAPABILITY) and,
    on x86, oneDNN's convolutions and MKL's matrix products limited to SSE4 (with them oneDNN picked gemm and
    sse41 kernels here instead of avx2 ones, ONEDNN_VERBOSE=1)."""
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    if platform.machine() in ("x86_64", "AMD64"):
        env |= {"ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
    code = ("import json, torch; from rdccodec.codec import Codec; from tests.test_conformance import mismatches; "
            "print(json.dumps([torch.backends.cpu.get_cpu_capability(), mismatches(Codec())]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    capability, found = json.loads(run.stdout.splitlines()[-1])
    assert capability == "DEFAULT"
    assert found == []
