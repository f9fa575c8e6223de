"""The `rdc` command line, through click's runner and through the installed command."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from rdccodec.cli import main


RDC = str(Path(sys.executable).with_name("rdc"))


def invoke(args, input=None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


@pytest.fixture
def folder(tmp_path, kodak_crop, monkeypatch):
    """A working folder holding only img.png (the user's situation)."""
    Image.fromarray(kodak_crop).save(tmp_path / "img.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_rdc(args, cwd, input=None):
    """The installed console script, as a user's shell runs it (exit codes and one-line errors)."""
    return subprocess.run([RDC, *args], cwd=cwd, input=input, capture_output=True, timeout=300)


def test_users_examples_work_as_written_with_the_shipped_model(folder):
    original = (folder / "img.png").read_bytes()
    assert run_rdc(["encode", "img.png", "--rate", "3"], folder).returncode == 0
    result = run_rdc(["decode", "img.rdc", "--beta", "0.5"], folder)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["img.decoded.png", "img.png", "img.rdc"]
    assert (folder / "img.png").read_bytes() == original
    with Image.open(folder / "img.decoded.png") as im:
        assert im.size == Image.open(folder / "img.png").size


def test_pipeline_through_stdin_and_stdout(folder, small_weights):
    w = ["--weights", str(small_weights)]
    png = (folder / "img.png").read_bytes()
    encoded = run_rdc(["encode", "-", "-o", "-", *w], folder, input=png)
    assert encoded.returncode == 0 and encoded.stdout[:4] == b"\x89RDC"
    decoded = run_rdc(["decode", "-", "-o", "-", *w], folder, input=encoded.stdout)
    assert decoded.returncode == 0 and decoded.stdout[:8] == b"\x89PNG\r\n\x1a\n"


def test_shell_pipeline_with_cat(folder, small_weights):
    w = f"--weights {small_weights}"
    cmd = f"cat img.png | {RDC} encode - -o - {w} | {RDC} decode - -o - {w} > b.png"
    subprocess.run(cmd, shell=True, cwd=folder, check=True, timeout=300)
    with Image.open(folder / "b.png") as im:
        assert im.size == (131, 97)


def test_batch_keeps_stems_and_reports_bad_files(folder, small_weights):
    w = ["--weights", str(small_weights)]
    shutil.copy(folder / "img.png", folder / "a.png")
    (folder / "bad.png").write_text("not an image")
    result = invoke(["encode", "a.png", "bad.png", "img.png", "-o", str(folder / "out"), *w])
    assert result.exit_code == 1
    assert "bad.png" in result.stderr and "1 of 3 inputs failed" in result.stderr
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["a.rdc", "img.rdc"]
    result = invoke(["decode", str(folder / "out" / "a.rdc"), str(folder / "out" / "img.rdc"),
                     "-o", str(folder / "dec"), *w])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (folder / "dec").iterdir()) == ["a.png", "img.png"]


def test_batch_of_200_with_10_bad_codes_every_good_file_and_lists_the_bad_at_the_end(tmp_path, small_weights):
    rng = np.random.default_rng(0)
    good_png = None
    names = []
    for i in range(200):
        path = tmp_path / f"in{i:03d}.png"
        if i % 20 == 7:  # ten bad ones of five kinds
            kind = (i // 20) % 5
            if kind == 0:
                path.write_text("not an image")
            elif kind == 1:
                path.write_bytes(b"")
            elif kind == 2:
                path.write_bytes(good_png[: len(good_png) // 2])
            elif kind == 3:
                path.mkdir()
            names.append(path.name)  # kind 4: a file that does not exist
        else:
            Image.fromarray(rng.integers(0, 256, (24 + i % 5, 30, 3), dtype=np.uint8)).save(path)
            good_png = path.read_bytes()
            names.append(path.name)
    result = run_rdc(["encode", *names, "-o", "out", "--weights", str(small_weights)], tmp_path)
    assert result.returncode == 1
    coded = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(coded) == 190 and all(name.endswith(".rdc") for name in coded)
    bad = [f"in{i:03d}.png" for i in range(200) if i % 20 == 7]
    lines = result.stderr.decode().splitlines()
    assert lines[-1] == "rdc: error: 10 of 200 inputs failed: " + ", ".join(bad)
    assert sorted(line.split(": ")[2] for line in lines[:-1] if line.startswith("rdc: error: in")) == bad
    assert b"Traceback" not in result.stderr
    decoded = run_rdc(["decode", *(f"out/{n}" for n in coded), "-o", "dec", "--weights", str(small_weights)],
                      tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert len(list((tmp_path / "dec").iterdir())) == 190


def test_existing_output_is_not_overwritten_without_force(folder, small_weights):
    w = ["--weights", str(small_weights)]
    (folder / "img.rdc").write_bytes(b"precious")
    result = invoke(["encode", str(folder / "img.png"), *w])
    assert result.exit_code == 1 and "--force" in result.stderr
    assert (folder / "img.rdc").read_bytes() == b"precious"
    assert invoke(["encode", str(folder / "img.png"), "--force", *w]).exit_code == 0
    assert (folder / "img.rdc").read_bytes()[:4] == b"\x89RDC"


@pytest.mark.parametrize("args", [
    ["encode", "img.png", "--rate", "9"],
    ["encode", "img.png", "--rate", "x"],
    ["decode", "img.rdc", "--beta", "1.5"],
    ["decode", "img.rdc", "--format", "gif"],
    ["encode"],
    ["frobnicate"],
])
def test_wrong_arguments_are_usage_errors(folder, small_weights, args):
    result = run_rdc([*args, "--weights", str(small_weights)] if len(args) > 1 else args, folder)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr


def test_corrupt_primary_is_one_line_and_exit_1(folder, small_weights):
    w = ["--weights", str(small_weights)]
    assert run_rdc(["encode", "img.png", *w], folder).returncode == 0
    data = bytearray((folder / "img.rdc").read_bytes())
    data[140] ^= 0xFF  # inside the primary payload (after header, 4-entry table and CRC)
    (folder / "bad.rdc").write_bytes(bytes(data))
    result = run_rdc(["decode", "bad.rdc", *w], folder)
    assert result.returncode == 1
    assert result.stderr.decode().strip().count("\n") == 0 and "primary section CRC" in result.stderr.decode()
    assert not (folder / "bad.decoded.png").exists()


def test_damaged_residual_layer_warns_and_strict_refuses(folder, small_weights):
    w = ["--weights", str(small_weights)]
    assert run_rdc(["encode", "img.png", *w], folder).returncode == 0
    data = (folder / "img.rdc").read_bytes()
    (folder / "cut.rdc").write_bytes(data[:-5])
    result = run_rdc(["decode", "cut.rdc", *w], folder)
    assert result.returncode == 0 and b"residual layer 3 is truncated" in result.stderr
    assert (folder / "cut.decoded.png").exists()
    result = run_rdc(["decode", "cut.rdc", "--strict", "-o", "strict.png", *w], folder)
    assert result.returncode == 1 and not (folder / "strict.png").exists()


def test_stream_from_other_weights_names_both_models(folder, small_weights, other_weights):
    assert run_rdc(["encode", "img.png", "--weights", str(other_weights)], folder).returncode == 0
    result = run_rdc(["decode", "img.rdc", "--weights", str(small_weights)], folder)
    assert result.returncode == 1 and b"stream needs model" in result.stderr


def test_info_json(folder, small_weights):
    assert invoke(["encode", str(folder / "img.png"), "--weights", str(small_weights)]).exit_code == 0
    result = invoke(["info", str(folder / "img.rdc"), "--json"])
    report = json.loads(result.stdout)
    assert report["width"] == 131 and report["height"] == 97 and report["layers"] == 3
    (folder / "cut.rdc").write_bytes((folder / "img.rdc").read_bytes()[:40])
    cut = run_rdc(["info", "cut.rdc"], folder)
    assert cut.returncode == 1 and cut.stderr.decode().startswith("rdc: error: cut.rdc: ")


def test_what_an_input_loses_is_a_one_line_warning_naming_it(folder, small_weights):
    Image.open(folder / "img.png").convert("RGBA").save(folder / "alpha.png")
    result = run_rdc(["encode", "alpha.png", "img.png", "-o", "out", "--weights", str(small_weights)], folder)
    assert result.returncode == 0
    assert result.stderr.decode().splitlines() == ["rdc: warning: alpha.png: alpha channel is discarded"]
    assert (folder / "out" / "alpha.rdc").read_bytes() == (folder / "out" / "img.rdc").read_bytes()


def test_an_output_that_cannot_be_written_is_named(folder, small_weights):
    result = run_rdc(["encode", "img.png", "-o", "missing/img.rdc", "--weights", str(small_weights)], folder)
    assert result.returncode == 1
    assert result.stderr.decode() == ("rdc: error: img.png: cannot write missing/img.rdc: "
                                      "No such file or directory\n")


def test_decode_format_follows_the_output_suffix(folder, small_weights):
    w = ["--weights", str(small_weights)]
    assert invoke(["encode", str(folder / "img.png"), *w]).exit_code == 0
    assert invoke(["decode", str(folder / "img.rdc"), "-o", str(folder / "x.webp"), *w]).exit_code == 0
    with Image.open(folder / "x.webp") as im:
        assert im.format == "WEBP"


def test_every_help_shows_examples():
    for args in (["--help"], ["encode", "--help"], ["decode", "--help"], ["info", "--help"], ["train", "--help"],
                 ["extract", "--help"], ["eval", "--help"], ["train", "stage1", "--help"],
                 ["train", "stage2", "--help"], ["train", "export", "--help"]):
        result = invoke(args)
        assert result.exit_code == 0 and "Examples:" in result.output


def test_python_dash_m_works_like_rdc(folder, small_weights):
    result = subprocess.run([sys.executable, "-m", "rdccodec", "info", "--help"], capture_output=True, timeout=60)
    assert result.returncode == 0 and b"Examples:" in result.stdout


def test_extract_is_byte_identical_to_encoding_fewer_layers(folder, small_weights):
    w = ["--weights", str(small_weights)]
    assert invoke(["encode", "img.png", "-o", "full.rdc", *w]).exit_code == 0
    for k in range(4):
        assert invoke(["encode", "img.png", "--layers", str(k), "-o", f"enc{k}.rdc", *w]).exit_code == 0
        assert invoke(["extract", "full.rdc", "--layers", str(k), "-o", f"ext{k}.rdc"]).exit_code == 0
        assert (folder / f"ext{k}.rdc").read_bytes() == (folder / f"enc{k}.rdc").read_bytes()


def test_extract_in_a_pipeline(folder, small_weights):
    data = invoke(["encode", "img.png", "-o", "-", "--weights", str(small_weights)]).stdout_bytes
    thin = invoke(["extract", "-", "--layers", "1", "-o", "-"], input=data).stdout_bytes
    assert 0 < len(thin) < len(data) and thin[:4] == b"\x89RDC"


def test_size_target_gives_a_stream_at_or_under_it(folder, small_weights):
    result = invoke(["encode", "img.png", "--size", "3k", "--layers", "2", "--weights", str(small_weights)])
    assert result.exit_code == 0, result.stderr
    size = (folder / "img.rdc").stat().st_size
    assert 0.97 * 3000 <= size <= 3000
    assert "bpp" in result.stderr


def test_bpp_target_searches_layers_too(folder, small_weights):
    result = invoke(["encode", "img.png", "--bpp", "1.0", "--weights", str(small_weights)])
    assert result.exit_code == 0, result.stderr
    pixels = 131 * 97
    assert 0.97 * pixels / 8 <= (folder / "img.rdc").stat().st_size <= pixels / 8


def test_unreachable_small_target_is_a_clear_error(folder, small_weights):
    result = invoke(["encode", "img.png", "--size", "10", "--weights", str(small_weights)])
    assert result.exit_code == 1 and "below the smallest stream" in result.stderr


def test_rate_and_target_exclude_each_other(folder, small_weights):
    result = invoke(["encode", "img.png", "--rate", "2", "--bpp", "0.3", "--weights", str(small_weights)])
    assert result.exit_code == 2
