"""Evaluation helpers: BD-rate arithmetic and one tiny real `rdc eval` run."""
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from rdccodec.cli import main
from rdccodec.codec import Codec
from rdccodec.errors import RDCError
from rdccodec.evaluate import baselines
from rdccodec.evaluate.bd import bd_rate
from rdccodec.evaluate.run import evaluate, scalability

from .conftest import KODAK


def test_bd_rate_of_a_curve_against_itself_is_zero():
    rate, quality = [0.1, 0.3, 0.7, 1.5], [28, 31, 34, 37]
    assert bd_rate(rate, quality, rate, quality) == pytest.approx(0, abs=1e-9)


def test_bd_rate_of_half_the_bits_is_minus_fifty_percent():
    rate, quality = np.array([0.1, 0.3, 0.7, 1.5]), [28, 31, 34, 37]
    assert bd_rate(rate / 2, quality, rate, quality) == pytest.approx(-50, abs=1e-6)


def test_bd_rate_without_overlap_is_none():
    assert bd_rate([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [10, 11, 12, 13]) is None


def test_scalability_counts_layers_that_do_not_raise_psnr_and_beta_orders():
    row = lambda image, beta, layers, psnr: {"image": image, "codec": "rdc", "rate": 1.0, "beta": beta,
                                             "layers": layers, "psnr": psnr}
    rows = [row("a", 1.0, 0, 30), row("a", 0.0, 1, 32), row("a", 0.0, 2, 32), row("a", 0.5, 1, 31),
            row("a", 0.5, 2, 33),  # β=0.5 above β=0 with two layers: not monotonic
            row("b", 1.0, 0, 20), row("b", 0.0, 1, 21), row("b", 0.0, 2, 23), row("b", 0.5, 1, 20.5),
            row("b", 0.5, 2, 21.5), {"image": "a", "codec": "jpeg", "quality": 50, "psnr": 40}]
    result = scalability(rows)
    assert result["layer_steps"]["0→1"] == {"mean_db": 1.5, "least_db": 1.0, "not_rising": 0, "of": 2}
    assert result["layer_steps"]["1→2"] == {"mean_db": 1.0, "least_db": 0.0, "not_rising": 1, "of": 2}
    assert result["beta"] == {"monotonic": 3, "of": 4, "betas": [0.0, 0.5, 1.0]}


def test_eval_codes_through_real_bytes_and_reuses_finished_points(tmp_path, small_weights):
    args = ["eval", str(KODAK), "--rates", "0,3,5", "--betas", "0,1", "--layers", "3", "--baselines", "jpeg",
            "--limit", "1", "-o", str(tmp_path), "--weights", str(small_weights)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "results.json").read_text())
    rdc_rows = [r for r in report["rows"] if r["codec"] == "rdc"]
    assert len(rdc_rows) == 6 and all(r["bytes"] > 68 for r in rdc_rows)
    assert report["scalability"]["layer_steps"]["0→3"]["of"] == 3 and "layers 0→3 at β=0" in result.output
    assert {"rd_psnr.png", "rd_msssim.png", "results.csv"} <= {p.name for p in tmp_path.iterdir()}
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0
    assert json.loads((tmp_path / "results.json").read_text())["rows"] == report["rows"]


def test_eval_with_other_weights_redoes_every_point(tmp_path, small_weights, other_weights):
    args = ["eval", str(KODAK), "--rates", "2", "--betas", "1", "--baselines", "", "--limit", "1", "-o", str(tmp_path)]
    first, second = (CliRunner().invoke(main, [*args, "--weights", str(w)], catch_exceptions=False)
                     for w in (small_weights, other_weights))
    assert first.exit_code == second.exit_code == 0
    report = json.loads((tmp_path / "results.json").read_text())
    other = Codec(other_weights)
    assert report["model_sha256"] == other.sha256
    encoded = other.encode(np.asarray(Image.open(KODAK / "kodim01.png").convert("RGB")), rate=2, layers=0)
    assert [r["bytes"] for r in report["rows"]] == [len(encoded)]


def test_eval_with_other_weights_keeps_the_baseline_points(tmp_path, small_weights, other_weights, monkeypatch):
    args = ["eval", str(KODAK), "--rates", "2", "--betas", "1", "--baselines", "jpeg", "--limit", "1", "-o",
            str(tmp_path)]
    CliRunner().invoke(main, [*args, "--weights", str(small_weights)], catch_exceptions=False)
    first = json.loads((tmp_path / "results.json").read_text())

    def no_baselines(*_):
        raise AssertionError("baseline coded again")

    monkeypatch.setattr(baselines, "encode", no_baselines)
    result = CliRunner().invoke(main, [*args, "--weights", str(other_weights)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    second = json.loads((tmp_path / "results.json").read_text())
    jpeg = [[r for r in report["rows"] if r["codec"] == "jpeg"] for report in (first, second)]
    assert jpeg[0] == jpeg[1] and jpeg[0]
    assert second["model_sha256"] == Codec(other_weights).sha256


@pytest.mark.parametrize("args,message", [
    (["--rates", "9"], "rates must lie in [0, 5]"),
    (["--layers", "5"], "layers must lie in [0, 3]"),
    (["--task", "classify"], "one image per ImageNet class"),
])
def test_impossible_requests_fail_before_any_work_or_output(tmp_path, small_weights, args, message):
    data = tmp_path / "photos"
    data.mkdir()
    Image.new("RGB", (64, 64)).save(data / "a.png")
    out = tmp_path / "out"
    with pytest.raises(RDCError, match=re.escape(message)):
        CliRunner().invoke(main, ["eval", str(data), "-o", str(out), "--weights", str(small_weights), *args],
                           catch_exceptions=False)
    assert not out.exists()
    result = CliRunner().invoke(main, ["eval", str(data), "--betas", "2", "-o", str(out)])
    assert result.exit_code == 2 and "β must lie in [0, 1]" in result.output
    with pytest.raises(RDCError, match=re.escape("betas must lie in [0, 1]")):
        evaluate(str(data), "rd", [0], [2.0], [1], [], str(out), None, 2, str(small_weights))
    assert not out.exists()


def test_features_task_measures_dense_fidelity_of_every_point_with_bd_rates(tmp_path, small_weights):
    from rdccodec.evaluate.features import METRICS, DenseFidelity

    args = ["eval", str(KODAK), "--task", "features", "--rates", "0,2,3,5", "--betas", "0,1", "--layers", "3",
            "--baselines", "jpeg", "--limit", "1", "-o", str(tmp_path), "--weights", str(small_weights)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["classifier"] == "EfficientNet-Lite2"
    assert all(-1 <= r[m] <= 1 for r in report["rows"] for m in METRICS)
    jpeg = sorted((r for r in report["rows"] if r["codec"] == "jpeg"), key=lambda r: r["bpp"])
    assert all(jpeg[-1][m] > jpeg[0][m] for m in METRICS)  # more bits keep more of the features
    assert set(report["bd_rate"]["rdc β=1 layers=0"]) == {f"jpeg ({m})" for m in METRICS}
    assert {f"rate_{m}.png" for m in METRICS} <= {p.name for p in tmp_path.iterdir()}
    image = np.asarray(Image.open(KODAK / "kodim01.png").convert("RGB"))[:256, :256]
    fidelity = DenseFidelity()
    assert all(v == pytest.approx(1, abs=1e-5) for v in fidelity.similarity(fidelity.maps(image), image).values())
