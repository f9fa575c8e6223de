"""The training recipe runs, resumes from its checkpoint and exports loadable weights with a card."""
import csv
import dataclasses
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from rdccodec.cli import main
from rdccodec.codec import Codec
from rdccodec.errors import RDCError
from rdccodec.train import loop, stage1, stage2
from rdccodec.train.losses import CognitionLoss, local_mse, location_infonce


def _photos(tmp_path, count: int, seed: int):
    """A folder of `count` random 96×80 training photos."""
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(data / f"p{i}.png")
    return data, rng


def _run(*args):
    return CliRunner().invoke(main, ["train", *args], catch_exceptions=False)


def test_local_mse_is_zero_inside_the_range_and_grows_outside():
    inside = torch.rand(2, 3, 8, 8)
    assert torch.all(local_mse(inside) == 0)
    outside = inside.clone()
    outside[0, 0, 0, 0] = 1.5
    assert local_mse(outside)[0] > 0 and local_mse(outside)[1] == 0


def test_infonce_prefers_each_reconstruction_matched_with_its_own_original():
    torch.manual_seed(0)
    loss = CognitionLoss(queue_size=16)
    x = torch.rand(4, 3, 64, 64)
    matched = loss(x, x)[0].mean()
    shuffled = loss(x.flip(0), x)[0].mean()
    assert matched < shuffled


def test_spatial_distance_grows_with_noise_and_sees_misplaced_content_that_pooling_misses():
    loss = CognitionLoss(queue_size=16)
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8, generator=g), size=64, mode="bilinear")
    assert loss(x, x)[1].abs().max() < 1e-5
    light, heavy = (loss(x + s * torch.randn(x.shape, generator=g), x)[1] for s in (0.02, 0.2))
    assert torch.all(light > 0) and torch.all(heavy > light)
    mirrored = x.flip(3)  # the same content, elsewhere
    pooled = 1 - (loss._features(mirrored)[0] * loss._features(x)[0]).sum(1)
    assert torch.all(loss(mirrored, x)[1] > 3 * pooled)


def test_location_infonce_matches_each_cell_with_its_own_place_in_its_own_image():
    g = torch.Generator().manual_seed(0)
    key = torch.randn(3, 16, 8, 8, generator=g)
    matched = location_infonce(key + 0.1 * torch.randn(key.shape, generator=g), key, 0.1)
    moved = location_infonce(key.roll(2, dims=3), key, 0.1)  # each cell's content two cells away
    swapped = location_infonce(key.roll(1, dims=0), key, 0.1)  # each image's content in another's place
    assert matched.shape == (3,) and torch.all(matched < 0.2)
    assert torch.all(moved > 40 * matched) and torch.all(swapped > 40 * matched)
    # maps finer than the cells are pooled to them, coarser ones taken as they are
    assert location_infonce(torch.randn(2, 4, 32, 32), torch.randn(2, 4, 32, 32), 0.1).shape == (2,)
    assert location_infonce(key[..., :2, :2], key[..., :2, :2], 0.1).shape == (3,)


def test_cognition_state_keeps_the_queue_not_the_frozen_backbone_and_loads_older_states_too():
    trained = CognitionLoss()
    trained.queue.mul_(-1)
    state = trained.state_dict()
    assert set(state) == {"queue", "queue_pointer"}
    fresh = CognitionLoss()
    fresh.load_state_dict(state)
    assert torch.equal(fresh.queue, trained.queue)
    older = state | {f"backbone.{k}": v for k, v in trained.backbone.state_dict().items()}
    CognitionLoss().load_state_dict(older)  # strict: checkpoints written with the backbone still resume


def test_contrastive_spatial_cognition_trains(tmp_path):
    data, _ = _photos(tmp_path, 2, 2)
    out = tmp_path / "s1"
    result = _run("stage1", "--iterations", "2", "--out", str(out), "--spatial-cognition", "contrastive",
                  "--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1")
    assert result.exit_code == 0
    assert json.loads((out / "settings.json").read_text())["spatial_cognition"] == "contrastive"
    with open(out / "log.csv") as f:
        assert all(float(r["spatial"]) > 0 for r in csv.DictReader(f))
    refused = _run("stage1", "--iterations", "1", "--out", str(tmp_path / "x"), "--spatial-cognition", "pooled",
                   "--data", str(data))
    assert refused.exit_code == 2 and "'pooled' is not one of 'distance', 'contrastive'" in refused.output
    choices = next(p for p in main.commands["train"].commands["stage1"].params if p.name == "spatial_cognition")
    assert list(choices.type.choices) == list(stage1.SPATIAL_TERMS)


def test_spatial_weight_is_recorded_and_needs_the_term(tmp_path):
    data, _ = _photos(tmp_path, 2, 3)
    out = tmp_path / "s1"
    common = ("--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1", "--iterations", "1")
    result = _run("stage1", "--out", str(out), "--spatial-cognition", "--spatial-weight", "800", *common)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "settings.json").read_text())["spatial_weight"] == 800
    refused = _run("stage1", "--out", str(tmp_path / "x"), "--spatial-weight", "800", *common)
    assert refused.exit_code == 2 and "give both" in refused.output


def test_two_stages_resume_and_export(tmp_path):
    data, rng = _photos(tmp_path, 3, 0)
    common = ["--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1"]
    run = _run
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    assert run("stage1", "--iterations", "2", "--out", str(s1), *common).exit_code == 0
    assert run("stage1", "--iterations", "3", "--out", str(s1), "--resume", *common).exit_code == 0
    with open(s1 / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    assert {"bpp", "mse", "local_mse", "infonce", "loss"} <= set(rows[0])
    assert run("stage2", "--iterations", "2", "--out", str(s2), "--init", str(s1 / "checkpoint.pt"), *common).exit_code == 0
    out = tmp_path / "model.pt"
    assert run("export", str(s1), str(s2), "-o", str(out), "--command", "test").exit_code == 0
    card = json.loads(out.with_suffix(".json").read_text())
    codec = Codec(out)
    assert card["sha256"] == codec.sha256 and card["stage1"]["iterations"] == 3
    assert card["config"]["residual_layers"] == [12, 12, 72]
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    assert codec.decode(codec.encode(image, rate=1)).image.size == (50, 40)


def _refused(match, *args):
    """`rdc train stage2 ARGS` stops with an RDCError whose message matches `match`."""
    with pytest.raises(RDCError, match=match):
        _run("stage2", *args)


def test_continued_training_starts_from_its_init_and_its_card_records_the_earlier_runs(tmp_path):
    data, rng = _photos(tmp_path, 1, 1)
    common = ["--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1"]
    run = _run
    s1, s2, s3, s4 = (tmp_path / f"s{i}" for i in range(1, 5))
    assert run("stage1", "--iterations", "2", "--out", str(s1), *common).exit_code == 0
    assert run("stage2", "--iterations", "1", "--out", str(s2), "--init", str(s1 / "checkpoint.pt"), *common).exit_code == 0
    assert run("stage1", "--iterations", "1", "--out", str(s3), "--init", str(s2 / "checkpoint.pt"),
               "--lambdas", "0.0005", "0.05", *common).exit_code == 0
    weights = lambda d: torch.load(d / "checkpoint.pt", weights_only=False)["model"]
    key = "residual.g_s.0.weight"
    assert torch.equal(weights(s3)[key], weights(s2)[key])  # stage I trains the primary branch only
    assert run("stage2", "--iterations", "1", "--out", str(s4), "--init", str(s3 / "checkpoint.pt"),
               "--residual-layers", "32,32,32", *common).exit_code == 0
    _refused("trained with residual layers 32,32,32, .* resume it with the same options", "--iterations", "2",
             "--out", str(s4), "--init", str(s3 / "checkpoint.pt"), "--resume", "--residual-layers", "12,12,72",
             *common)
    _refused("do not fit this model", "--iterations", "1", "--out", str(tmp_path / "s5"),
             "--init", str(s3 / "checkpoint.pt"), "--residual-layers", "10,10", *common)
    bad = CliRunner().invoke(main, ["train", "stage2", "--iterations", "1", "--out", str(tmp_path / "s5"),
                                    "--init", str(s3 / "checkpoint.pt"), "--residual-layers", "0,96"])
    assert bad.exit_code == 2 and "positive channel counts" in bad.output
    out = tmp_path / "continued.pt"
    assert run("export", str(s3), str(s4), "-o", str(out), "--earlier", str(s1), "--earlier", str(s2)).exit_code == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert [r["iterations"] for r in card["earlier_runs"].values()] == [2, 1]
    assert card["stage1"]["settings"]["init"] == str(s2 / "checkpoint.pt")
    assert card["stage1"]["settings"]["lambdas"] == [0.0005, 0.05]
    assert "training photos" in card["synthesis_ranges"]
    assert card["config"]["residual_layers"] == [32, 32, 32]
    s6 = tmp_path / "s6"  # continued from the exported weights: the new card keeps their whole history
    assert run("stage2", "--iterations", "1", "--out", str(s6), "--init", str(out), *common).exit_code == 0
    assert torch.equal(weights(s6)["primary.g_a.0.weight"], weights(s4)["primary.g_a.0.weight"].half().float())
    again = tmp_path / "again.pt"
    assert run("export", str(s3), str(s6), "-o", str(again), "--earlier", str(out.with_suffix(".json"))).exit_code == 0
    history = json.loads(again.with_suffix(".json").read_text())["earlier_runs"]
    assert list(history) == [str(s1), str(s2), str(s3), str(s4)]
    with pytest.raises(RDCError, match="not a run folder or an rdc model card"):
        run("export", str(s3), str(s6), "-o", str(again), "--earlier", str(data / "p0.png"))
    assert Codec(out).model.residual.hyperprior.group_channels == (32, 32, 32)

    # a wider residual synthesis starts from the narrower one's weights; its width is part of the run
    wide = tmp_path / "wide"
    assert run("stage2", "--iterations", "1", "--out", str(wide), "--init", str(s3 / "checkpoint.pt"),
               "--residual-synthesis", "80", "--lr", "1e-30", *common).exit_code == 0
    trained = weights(wide)
    assert trained["residual.g_s.0.weight"].shape == (80, 80, 5, 5)
    narrow = weights(s3)["residual.g_s.0.weight"]
    assert narrow.shape[0] < 80 and torch.equal(trained["residual.g_s.0.weight"][:len(narrow), :len(narrow)], narrow)
    _refused("residual synthesis width 80 and primary width 64; resume it with the same options", "--iterations", "2",
             "--out", str(wide), "--init", str(s3 / "checkpoint.pt"), "--resume", "--residual-synthesis", "48", *common)
    _refused("do not fit this model", "--iterations", "1", "--out", str(tmp_path / "narrow"),
             "--init", str(wide / "checkpoint.pt"), "--residual-synthesis", "48", *common)
    assert run("stage1", "--iterations", "1", "--out", str(tmp_path / "after"), "--init", str(wide / "checkpoint.pt"),
               *common).exit_code == 0  # a run continued from another keeps its shape
    assert weights(tmp_path / "after")["residual.g_s.0.weight"].shape == (80, 80, 5, 5)
    # a wider primary likewise, in stage I (--primary-width)
    assert run("stage1", "--iterations", "1", "--out", str(tmp_path / "wide1"), "--init", str(s3 / "checkpoint.pt"),
               "--primary-width", "80", "--lr", "1e-30", *common).exit_code == 0
    primary, narrow = weights(tmp_path / "wide1")["primary.g_s.0.weight"], weights(s3)["primary.g_s.0.weight"]
    assert primary.shape[1] == 80 > narrow.shape[1] and torch.equal(primary[:, :narrow.shape[1]], narrow)
    # a checkerboard context joins stage I; stage II keeps it; its export codes in two passes
    ctx1, ctx2 = tmp_path / "ctx1", tmp_path / "ctx2"
    assert run("stage1", "--iterations", "1", "--out", str(ctx1), "--init", str(s3 / "checkpoint.pt"),
               "--checkerboard", *common).exit_code == 0
    assert run("stage2", "--iterations", "1", "--out", str(ctx2), "--init", str(ctx1 / "checkpoint.pt"),
               *common).exit_code == 0
    assert "primary.hyperprior.context.net.4.bias" in weights(ctx2)
    assert run("export", str(ctx1), str(ctx2), "-o", str(tmp_path / "ctx.pt")).exit_code == 0
    codec = Codec(tmp_path / "ctx.pt")
    assert "primary.hyperprior.context.net.0" in codec.model.ranges
    image = np.random.default_rng(3).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    assert codec.decode(codec.encode(image, rate=1.5)).image.size == (90, 70)
    out = tmp_path / "wide.pt"
    assert run("export", str(s3), str(wide), "-o", str(out)).exit_code == 0
    assert json.loads(out.with_suffix(".json").read_text())["config"]["residual_synthesis_hidden"] == 80
    codec = Codec(out)
    assert codec.model.config.residual_synthesis_hidden == 80
    image = np.random.default_rng(2).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    assert codec.decode(codec.encode(image, rate=5)).image.size == (50, 40)


def test_a_folder_without_photos_or_checkpoint_is_a_clear_error(tmp_path):
    run = lambda *args: CliRunner().invoke(main, ["train", *args], catch_exceptions=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RDCError, match="no images under"):
        run("stage1", "--iterations", "1", "--out", str(tmp_path / "s1"), "--data", str(empty))
    with pytest.raises(RDCError, match="no such checkpoint"):
        run("export", str(empty), str(empty), "-o", str(tmp_path / "w.pt"))
    with pytest.raises(RDCError, match="unknown device 'gpu0'"):
        run("stage1", "--iterations", "1", "--out", str(tmp_path / "s1"), "--data", str(empty), "--device", "gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(RDCError, match="no CUDA GPU"):
            run("stage1", "--iterations", "1", "--out", str(tmp_path / "s1"), "--data", str(empty), "--device", "cuda")
    (tmp_path / "not.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RDCError, match="not a training checkpoint"):
        run("stage2", "--iterations", "1", "--out", str(tmp_path / "s2"), "--init", str(tmp_path / "not.pt"),
            "--data", str(empty))


def test_accumulated_micro_batches_and_a_weight_average_resume_and_export(tmp_path):
    data, rng = _photos(tmp_path, 3, 1)
    common = ["--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1", "--accumulate", "2",
              "--ema", "0.5"]
    run = _run
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    assert run("stage1", "--iterations", "2", "--out", str(s1), "--spatial-cognition", *common).exit_code == 0
    assert run("stage1", "--iterations", "3", "--out", str(s1), "--resume", "--spatial-cognition",
               *common).exit_code == 0
    with open(s1 / "log.csv") as f:
        assert [float(r["spatial"]) > 0 for r in csv.DictReader(f)] == [True] * 3
    last = torch.load(s1 / "checkpoint.pt", weights_only=False)
    average = torch.load(s1 / loop.AVERAGE, weights_only=False)
    assert last["ema"]["n_averaged"] == 3 and average["iteration"] == 3
    trained = [k for k in last["model"] if k.startswith("primary.") and last["model"][k].is_floating_point()]
    assert any(not torch.equal(last["model"][k], average["model"][k]) for k in trained)
    assert run("stage2", "--iterations", "1", "--out", str(s2), "--init", str(s1 / loop.AVERAGE),
               *common).exit_code == 0
    out = tmp_path / "model.pt"
    assert run("export", str(s1), str(s2), "-o", str(out), "--average").exit_code == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["weights"] == "stage II's exponential moving average"
    codec = Codec(out)
    assert codec.decode(codec.encode(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), rate=1)).image.size == (50, 40)
    without = tmp_path / "plain"
    assert run("stage1", "--iterations", "1", "--out", str(without), "--data", str(data), "--batch", "2",
               "--crop", "64", "--threads", "1").exit_code == 0
    with pytest.raises(RDCError, match="kept no weight average"):
        run("stage1", "--iterations", "2", "--out", str(without), "--resume", *common)


def test_a_non_finite_loss_skips_its_update_and_a_run_of_them_stops_training(tmp_path):
    data, _ = _photos(tmp_path, 1, 0)
    calls = []

    def poisoned(bad_calls):
        def build(model, settings):
            parameters, step, extra = stage2.build(model, settings)

            def bad_step(model, x, generator):
                terms = step(model, x, generator)
                calls.append(1)
                if len(calls) in bad_calls:
                    terms["loss"] = terms["loss"] * float("inf")
                return terms
            return parameters, bad_step, extra
        return build

    settings = loop.TrainSettings(stage=2, data=[str(data)], out=str(tmp_path / "a"), iterations=4, batch=2,
                                  crop=64, threads=1)
    state = torch.load(loop.run(settings, poisoned({2}), resume=False), weights_only=False)
    assert state["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    with open(tmp_path / "a" / "log.csv") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    assert len(losses) == 4 and losses[1] == float("inf") and all(np.isfinite(losses[i]) for i in (0, 2, 3))
    calls.clear()
    diverging = dataclasses.replace(settings, out=str(tmp_path / "b"), iterations=loop.MAX_SKIPPED + 5)
    with pytest.raises(RDCError, match="training diverged"):
        loop.run(diverging, poisoned(set(range(1, 100))), resume=False)
    assert len(calls) == loop.MAX_SKIPPED


def test_torchrun_trains_on_two_processes_and_one_process_resumes_the_checkpoint(tmp_path):
    import os
    import subprocess
    import sys

    data, _ = _photos(tmp_path, 4, 2)
    common = ["--data", str(data), "--batch", "2", "--crop", "64", "--threads", "1", "--out", str(tmp_path / "s1")]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "rdccodec", "train", "stage1", "--iterations", "3", *common],
                          capture_output=True, text=True, env=env | {"OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    state = torch.load(tmp_path / "s1" / "checkpoint.pt", weights_only=False)
    assert state["iteration"] == 3 and state["settings"]["processes"] == 2 and "2 processes" in state["machine"]
    assert len(state["rng_states"]) == 2 and not torch.equal(state["rng_states"][0][0], state["rng_states"][1][0])
    result = CliRunner().invoke(main, ["train", "stage1", "--iterations", "5", "--resume", *common],
                                catch_exceptions=False)
    assert result.exit_code == 0
    with open(tmp_path / "s1" / "log.csv") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5]  # one log, by rank 0
    assert torch.load(tmp_path / "s1" / "checkpoint.pt", weights_only=False)["settings"]["processes"] == 1
