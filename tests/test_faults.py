"""Faults: a full disk or an interruption leaves no partial output and never damages an existing file."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from rdccodec import outputs
from rdccodec.cli import main

RDC = str(Path(sys.executable).with_name("rdc"))


def test_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "img.rdc"
    target.write_bytes(b"old contents")

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError):
        outputs.write_atomic(target, b"new contents", force=True)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["img.rdc"]


def test_full_disk_in_the_cli_is_one_line_and_exit_1(tmp_path, kodak_crop, small_weights, monkeypatch):
    Image.fromarray(kodak_crop).save(tmp_path / "img.png")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "img.png"), "--weights", str(small_weights)])
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.png"]


def test_outputs_get_the_umask_permissions_and_an_overwrite_keeps_the_old_ones(tmp_path):
    umask = os.umask(0o027)
    try:
        outputs.write_atomic(tmp_path / "new.rdc", b"data", force=False)
        replaced = tmp_path / "old.png"
        replaced.write_bytes(b"old")
        replaced.chmod(0o604)
        outputs.write_atomic(replaced, b"new", force=True)
    finally:
        os.umask(umask)
    assert (tmp_path / "new.rdc").stat().st_mode & 0o777 == 0o640
    assert replaced.stat().st_mode & 0o777 == 0o604 and replaced.read_bytes() == b"new"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_batch_leaves_only_complete_outputs(tmp_path, kodak_crop, small_weights, sig):
    inputs = []
    for i in range(40):
        path = tmp_path / f"in{i:02d}.png"
        Image.fromarray(kodak_crop).save(path)
        inputs.append(str(path))
    out = tmp_path / "out"
    # A shell starts background jobs with SIGINT ignored, and children inherit that; give rdc the
    # default disposition a user's terminal gives it, whatever started pytest.
    process = subprocess.Popen([RDC, "encode", *inputs, "-o", str(out), "--weights", str(small_weights)],
                               stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and any(out.glob("*.rdc"))):
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (130, 143), stderr
    assert b"Traceback" not in stderr
    written = list(out.iterdir())
    assert written and all(p.suffix == ".rdc" and not p.name.startswith(".") for p in written)
    for p in written:
        assert p.read_bytes()[:4] == b"\x89RDC"
