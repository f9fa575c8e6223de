"""Atomic output files: written to a temporary name, renamed into place only when complete."""
from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import RDCError


class OutputExists(RDCError):
    """An output file is already there and --force was not given."""


def write_atomic(path: Path, data: bytes, force: bool) -> None:
    """Write `data` to `path` so that an interruption leaves the old file (or nothing), never half a file."""
    if path.exists() and not force:
        raise OutputExists(f"{path} exists (use --force to overwrite)")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """The permissions a plain open() would give (0666 less the umask), or the replaced file's own:
    mkstemp's private 0600 must not leak into the user's outputs."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()

