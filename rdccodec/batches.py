"""Which inputs a batch command codes and where each result goes: folder trees mirrored, and shards.

A shard is a deterministic slice of the sorted inputs, so that N independent jobs (a SLURM array, GNU
parallel, Kubernetes jobs) given the same inputs code every one of them exactly once between them.
"""
from __future__ import annotations

from pathlib import Path

from .errors import RDCError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".gif")


def parse_shard(text: str) -> tuple[int, int]:
    """"I/N" → (I, N), with 0 ≤ I < N."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise RDCError(f"--shard: expected I/N such as 0/4, got {text!r}") from None
    if not (count >= 1 and 0 <= index < count):
        raise RDCError(f"--shard: I/N needs 0 ≤ I < N, got {text!r}")
    return index, count


def shard(items: list, index: int, count: int) -> list:
    """The index-th of `count` interleaved slices of `items` in sorted order (balanced to one item)."""
    return sorted(items)[index::count]


def tree(inputs: list[str], output: str, suffix: str) -> list[tuple[str, Path]]:
    """(image, target) for every image under the input folders (recursively; a file stands for itself),
    each target at the image's path relative to its folder under `output`, with `suffix`."""
    pairs: dict[Path, str] = {}
    for name in inputs:
        root = Path(name)
        if root.is_dir():
            found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise RDCError(f"{name}: no images in this folder")
            relative = [(str(p), p.relative_to(root)) for p in found]
        elif root.exists():
            relative = [(name, Path(root.name))]
        else:
            raise RDCError(f"{name}: no such file or folder")
        for source, rel in relative:
            target = Path(output) / rel.with_suffix(suffix)
            if target in pairs:
                raise RDCError(f"{pairs[target]} and {source} would both be written to {target}")
            pairs[target] = source
    return [(source, target) for target, source in pairs.items()]
