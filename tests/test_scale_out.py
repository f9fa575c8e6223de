"""Scale-out: mirrored trees and shards for batch coding, and .rdc collections as a PyTorch dataset."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch.utils.data import DataLoader

import rdccodec
from rdccodec.batches import parse_shard, shard
from rdccodec.cli import main
from rdccodec.data import RDCDataset
from rdccodec.errors import RDCError


def _photos(root, rng, names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "L" if "gray" in name else "RGB"
        shape = (40 + len(name), 56) if mode == "L" else (40 + len(name), 56, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)


NAMES = ["a.png", "b.jpg", "sub/c.png", "sub/deeper/gray.png", "sub/deeper/e.webp"]


def test_recursive_encode_mirrors_the_tree_skips_what_exists_and_shards_code_each_input_once(tmp_path,
                                                                                             small_weights):
    _photos(tmp_path / "photos", np.random.default_rng(0), NAMES)
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    run = lambda *args: CliRunner().invoke(main, ["encode", "--weights", str(small_weights), "--rate", "1", *args])
    result = run("-r", str(tmp_path / "photos"), "-o", str(tmp_path / "coded"))
    assert result.exit_code == 0, result.output
    coded = sorted(p.relative_to(tmp_path / "coded").as_posix() for p in (tmp_path / "coded").rglob("*.rdc"))
    assert coded == sorted(n.rsplit(".", 1)[0] + ".rdc" for n in NAMES)
    first = tmp_path / "coded" / "sub" / "c.rdc"
    first.write_bytes(b"left by a killed run")  # stands for an output a rerun must not touch
    assert run("-r", str(tmp_path / "photos"), "-o", str(tmp_path / "coded")).exit_code == 0
    assert first.read_bytes() == b"left by a killed run"
    assert run("-r", str(tmp_path / "photos"), "-o", str(tmp_path / "coded"), "--force").exit_code == 0
    assert first.read_bytes()[1:4] == b"RDC"
    seen = []
    for i in range(3):
        out = tmp_path / f"shard{i}"
        assert run("-r", str(tmp_path / "photos"), "-o", str(out), "--shard", f"{i}/3").exit_code == 0
        seen += [p.relative_to(out).as_posix() for p in out.rglob("*.rdc")]
    assert sorted(seen) == coded  # every input once, in one shard only
    assert run("-r", str(tmp_path / "photos"), "-o", "-").exit_code == 2
    assert "0 ≤ I < N" in run("a.png", "--shard", "3/3").output


def test_shards_partition_any_list_and_bad_specs_are_refused():
    items = [f"img{i:03d}.png" for i in range(101)]
    slices = [shard(list(reversed(items)), i, 7) for i in range(7)]
    assert sorted(sum(slices, [])) == items and max(map(len, slices)) - min(map(len, slices)) <= 1
    assert parse_shard("2/8") == (2, 8)
    for bad in ("8/8", "-1/4", "1", "a/b", "0/0"):
        with pytest.raises(RDCError):
            parse_shard(bad)


def test_a_dataloader_with_two_workers_yields_what_decode_gives(tmp_path):
    _photos(tmp_path / "photos", np.random.default_rng(1), NAMES)
    result = CliRunner().invoke(main, ["encode", "--rate", "0", "-r", str(tmp_path / "photos"), "-o",
                                       str(tmp_path / "coded")])
    assert result.exit_code == 0, result.output
    dataset = RDCDataset(tmp_path / "coded", beta=1.0)
    assert len(dataset) == len(NAMES)
    loaded = list(DataLoader(dataset, batch_size=None, num_workers=2))
    for path, tensor in zip(dataset.paths, loaded):
        expected = np.asarray(rdccodec.decode(path.read_bytes(), beta=1.0), dtype=np.float32) / 255
        expected = expected.reshape(*expected.shape[:2], -1)
        assert tensor.dtype == torch.float32 and tensor.shape == (expected.shape[2], *expected.shape[:2])
        assert torch.equal(tensor.permute(1, 2, 0), torch.from_numpy(expected))
    assert loaded[[p.name for p in dataset.paths].index("gray.rdc")].shape[0] == 1
    listing = tmp_path / "coded" / "list.txt"
    listing.write_text("# two streams\nsub/c.rdc\na.rdc\n")
    flipped = RDCDataset(listing, beta=0.0, layers=1, transform=lambda t: t.flip(2))
    expected = np.asarray(rdccodec.decode((tmp_path / "coded" / "a.rdc").read_bytes(), beta=0.0, layers=1))
    assert torch.equal(flipped[1], torch.from_numpy(expected.copy()).permute(2, 0, 1).float().div(255).flip(2))
    (tmp_path / "coded" / "broken.rdc").write_bytes(b"RDC not really")
    with pytest.raises(RDCError, match="broken.rdc"):
        RDCDataset([tmp_path / "coded" / "broken.rdc"])[0]
    with pytest.raises(RDCError, match="no such folder"):
        RDCDataset(tmp_path / "missing")
