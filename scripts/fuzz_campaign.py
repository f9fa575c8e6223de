"""Long fuzz campaign on the decoder (issue 5): mutate, truncate, splice and forge valid streams.

Usage: python scripts/fuzz_campaign.py CASES [SEED] [WORKERS]
Runs in worker processes (one torch thread each) so that a crash of native code would be counted, not
fatal; a worker that dies or hangs for an hour counts as a crash. Prints cases, clean errors, valid
decodes, other exceptions, crashes and the slowest case, and writes results/fuzz_campaign.json.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

CHUNK = 5000


def _streams(codec):
    from PIL import Image

    kodak = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"
    streams = []
    for name, rate, layers in (("kodim01.png", 2.0, 3), ("kodim05.png", 4.5, 2), ("kodim12.png", 0.0, 1)):
        array = np.asarray(Image.open(kodak / name).convert("RGB"))[:40, :72].copy()
        streams.append(codec.encode(array, rate=rate, layers=layers))
    return streams


def _forge_crcs(data: bytes) -> bytes:
    """Recompute section and header CRCs so that garbage passes the container checks."""
    from rdccodec import container

    try:
        header, entries, offset = container.parse_header(data)
    except Exception:
        return data
    out = bytearray(data)
    for i, (kind, index, length, _) in enumerate(entries):
        payload = data[offset:offset + length]
        out[64 + 12 * i + 8:64 + 12 * i + 12] = zlib.crc32(payload).to_bytes(4, "big")
        offset += length
    end = 64 + 12 * len(entries)
    out[end:end + 4] = zlib.crc32(bytes(out[:end])).to_bytes(4, "big")
    return bytes(out)


def _mutate(rng, streams):
    data = bytearray(streams[rng.integers(len(streams))])
    kind = rng.integers(5)
    if kind == 0:
        for _ in range(rng.integers(1, 16)):
            data[rng.integers(len(data))] = rng.integers(256)
    elif kind == 1:
        data = data[:rng.integers(len(data) + 1)]
    elif kind == 2:
        other = streams[rng.integers(len(streams))]
        data = data[:rng.integers(len(data) + 1)] + other[rng.integers(len(other) + 1):]
    elif kind == 3:
        start = rng.integers(68, len(data))
        data[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    else:
        for _ in range(rng.integers(1, 16)):
            data[rng.integers(64, len(data))] = rng.integers(256)
    data = bytes(data)
    return _forge_crcs(data) if rng.integers(2) else data


def _worker(args):
    weights, seed, count = args
    from rdccodec.codec import Codec
    from rdccodec.errors import RDCError

    codec = Codec(weights, max_pixels=1_000_000, threads=1)
    streams = _streams(codec)
    rng = np.random.default_rng(seed)
    stats = {"cases": 0, "clean_errors": 0, "decoded": 0, "other_exceptions": 0, "slowest_s": 0.0, "examples": []}
    for _ in range(count):
        data = _mutate(rng, streams)
        start = time.perf_counter()
        try:
            codec.decode(data)
            stats["decoded"] += 1
        except RDCError:
            stats["clean_errors"] += 1
        except Exception as e:  # anything else is a finding
            stats["other_exceptions"] += 1
            if len(stats["examples"]) < 5:
                stats["examples"].append(f"{type(e).__name__}: {e}")
        stats["cases"] += 1
        stats["slowest_s"] = max(stats["slowest_s"], time.perf_counter() - start)
    return stats


def main() -> None:
    cases = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import make_weights  # the test suite's small random-initialised model

    weights = make_weights(Path(tempfile.mkdtemp()) / "fuzz.pt", seed=0)
    jobs = [(str(weights), seed * 100_000 + i, min(CHUNK, cases - i * CHUNK)) for i in range((cases + CHUNK - 1) // CHUNK)]
    total = {"cases": 0, "clean_errors": 0, "decoded": 0, "other_exceptions": 0, "crashes": 0, "slowest_s": 0.0,
             "examples": []}
    started = time.time()
    with mp.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
        results = [pool.apply_async(_worker, (job,)) for job in jobs]
        for job, result in zip(jobs, results):
            try:
                stats = result.get(timeout=3600)
            except Exception as e:  # a worker that died: native crash or hang
                total["crashes"] += 1
                total["examples"].append(f"worker {job[1]}: {type(e).__name__}: {e}")
                continue
            for key in ("cases", "clean_errors", "decoded", "other_exceptions"):
                total[key] += stats[key]
            total["slowest_s"] = max(total["slowest_s"], stats["slowest_s"])
            total["examples"] += stats["examples"]
    total["seconds"] = round(time.time() - started, 1)
    total["command"] = "python " + " ".join(sys.argv)
    print(json.dumps(total, indent=1))
    (Path(__file__).resolve().parents[1] / "results" / "fuzz_campaign.json").write_text(json.dumps(total, indent=1) + "\n")


if __name__ == "__main__":
    main()
