"""The `rdc` command line: argument handling over the Python API, nothing more."""
from __future__ import annotations

import os
import signal
import sys
import warnings
from pathlib import Path

import click

from .allocator import reuse_freed_memory
from .container import DEFAULT_MAX_PIXELS
from .errors import ImageNote, RDCError

FORMATS = ["png", "jpeg", "webp", "bmp", "tiff", "ppm"]
SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp",
                  ".bmp": "bmp", ".tif": "tiff", ".tiff": "tiff", ".ppm": "ppm"}
DECODED_SUFFIX = ".decoded"  # img.rdc -> img.decoded.png beside it; never img.png


def _fail(message: str) -> None:
    click.echo(f"rdc: error: {message}", err=True)


def _load_codec(weights, max_pixels=None):
    from .codec import Codec

    return Codec(weights, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise RDCError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise RDCError(f"{name}: is a directory") from None
    except OSError as e:
        raise RDCError(f"{name}: {e.strerror}") from None


def _output_path(source: str, output: str | None, batch: bool, suffix: str) -> Path | None:
    """Where one input's result goes; None means stdout."""
    if output == "-" or (output is None and source == "-"):
        return None
    stem = "stdin" if source == "-" else Path(source).name.rsplit(".", 1)[0]
    if output is None:
        return Path(source).with_name(stem + suffix)
    out = Path(output)
    if batch or out.is_dir():
        return out / (stem + suffix)
    return out


def _named(source: str, error: Exception) -> str:
    """An error's message led by the input it concerns (once)."""
    return str(error) if str(error).startswith(source) else f"{source}: {error}"


def _run_batch(sources, output, suffix, work, force: bool, read: bool = True, targets: dict | None = None) -> None:
    """Run `work(source, data) -> bytes` on every input; report failures, exit 1 if any.

    With `read=False`, `data` is the file name (stdin is still read): images are opened lazily, so a large
    photo's compressed bytes need not stay in memory while it is coded. `targets` (a mirrored tree) names
    each input's output; there an existing output is skipped, not an error, so a killed run resumes."""
    from .outputs import write_atomic, write_stdout

    batch = len(sources) > 1 or targets is not None
    skipped = 0
    if batch and output not in (None, "-"):
        Path(output).mkdir(parents=True, exist_ok=True)
    if batch and output == "-":
        raise click.UsageError("several inputs cannot all go to stdout")
    if sources.count("-") > 1:
        raise click.UsageError("stdin can be read only once")
    failures = []
    progress = None
    if batch and sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(total=len(sources), unit="file", file=sys.stderr)
    for source in sources:
        try:
            target = targets[source] if targets is not None else _output_path(source, output, batch, suffix)
            if target is not None and target.exists() and not force:
                if targets is None:
                    raise RDCError(f"{target} exists (use --force to overwrite)")
                skipped += 1
                if progress:
                    progress.update()
                continue
            if targets is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
            result = work(source, _read_input(source) if read or source == "-" else source)
            if target is None:
                write_stdout(result)
            else:
                try:
                    write_atomic(target, result, force)
                except OSError as e:  # name the output, not the input the error is reported under
                    raise RDCError(f"cannot write {target}: {e.strerror or e}") from None
        except RDCError as e:
            failures.append(source)
            _fail(_named(source, e))
        except OSError as e:
            failures.append(source)
            _fail(f"{source}: {e.strerror or e}")
        if progress:
            progress.update()
    if progress:
        progress.close()
    if skipped:
        click.echo(f"rdc: {skipped} of {len(sources)} outputs exist already and were skipped (--force "
                   "recodes them)", err=True)
    if failures:
        if batch:
            _fail(f"{len(failures)} of {len(sources)} inputs failed: {', '.join(failures)}")
        sys.exit(1)


weights_option = click.option("--weights", type=click.Path(dir_okay=False), default=None,
                              help="Model weights file (default: the model shipped with rdc).")
max_pixels_option = click.option(
    "--max-pixels", type=click.IntRange(min=1), default=None,
    help=f"Refuse images of more pixels (default: {DEFAULT_MAX_PIXELS}); checked before decoding them.")
force_option = click.option("--force", is_flag=True, help="Overwrite existing output files.")


@click.group(epilog="""\b
Examples:
  rdc encode img.png --rate 3          # writes img.rdc
  rdc decode img.rdc --beta 0.5        # writes img.decoded.png
  rdc info img.rdc --json
  rdc extract img.rdc --layers 1 -o thin.rdc
  cat a.png | rdc encode - -o - | rdc decode - -o - > b.png
""")
@click.version_option(package_name="rdccodec")
def main() -> None:
    """rdc: one learned image codec for machines and people.

    The primary layer is an image for recognition models; residual layers
    make it faithful for people. Choose the mix at decode time with --beta.
    """


@main.command(epilog="""\b
Examples:
  rdc encode img.png --rate 3              # img.rdc beside img.png
  rdc encode photos/*.jpg -o coded/        # coded/<stem>.rdc for each
  rdc encode img.png --rate 1.5 --layers 1 -o small.rdc
  rdc encode img.png --bpp 0.25            # best stream at or under 0.25 bpp
  rdc encode img.png --size 20k --layers 3 # at most 20 000 bytes, all layers
  cat img.png | rdc encode - -o - > img.rdc
  rdc encode img.png --rate 2 --effort 3   # slower encode, smaller stream, same decoder
  rdc encode -r photos/ -o coded/          # coded/ mirrors photos/; a rerun skips what is done
  rdc encode -r photos/ -o coded/ --shard 2/8   # the third of 8 jobs (SLURM arrays, GNU parallel)
""")
@click.argument("images", nargs=-1, required=True)
@click.option("-o", "--output", default=None,
              help="Output file, directory (several inputs), or - for stdout. Default: beside each input, suffix .rdc.")
@click.option("--rate", type=float, default=None,
              help="Rate level in [0, L-1]; fractions interpolate between levels.  [default: 3]")
@click.option("--bpp", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Target bits per pixel: search the rate (and layers) for the best stream at or under it.")
@click.option("--size", "size", default=None, help="Target file size in bytes, e.g. 20k or 1.5M (k = 1000).")
@click.option("--layers", type=int, default=None, help="Residual layers to include (default: all).")
@click.option("-r", "--recursive", is_flag=True,
              help="Code every image under the input folders into the same tree under -o; existing outputs are "
                   "skipped unless --force.")
@click.option("--shard", default=None, metavar="I/N",
              help="Code only the I-th (from 0) of N interleaved slices of the sorted inputs.")
@click.option("--effort", type=click.IntRange(0, 3), default=0, show_default=True,
              help="Encoder effort: 1–3 refine the latents by gradient steps (about 5, 8 and 12 s for a "
                   "768×512 image on two cores) for smaller streams at the same quality; 0 is one pass.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@max_pixels_option
@force_option
@weights_option
def encode(images, output, rate, bpp, size, layers, recursive, shard, effort, quiet, max_pixels, force, weights):
    """Compress images into .rdc streams."""
    from .batches import parse_shard, shard as slice_of, tree

    targets = [o for o, v in (("--rate", rate), ("--bpp", bpp), ("--size", size)) if v is not None]
    if len(targets) > 1:
        raise click.UsageError(f"{' and '.join(targets)} exclude each other")
    if recursive and output in (None, "-"):
        raise click.UsageError("-r needs -o FOLDER to mirror the input tree into")
    tree_targets = dict(tree(list(images), output, ".rdc")) if recursive else None
    sources = list(tree_targets) if recursive else list(images)
    if shard is not None:
        if "-" in sources:
            raise click.UsageError("--shard slices files, not stdin")
        try:
            sources = slice_of(sources, *parse_shard(shard))
        except RDCError as e:
            raise click.BadParameter(str(e).removeprefix("--shard: "), param_hint="--shard") from None
    max_bytes = _parse_size(size) if size is not None else None
    codec = _load_codec(weights, max_pixels)
    rate = 3.0 if rate is None else rate
    if not 0 <= rate <= codec.levels - 1:
        raise click.BadParameter(f"must lie in [0, {codec.levels - 1}]", param_hint="--rate")
    if layers is not None and not 0 <= layers <= codec.layers:
        raise click.BadParameter(f"must lie in [0, {codec.layers}]", param_hint="--layers")

    def work(source, data):
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always", ImageNote)
            if bpp is None and max_bytes is None:
                result = codec.encode(data, rate, layers, effort=effort, progress=not quiet)
            else:
                result = fit(source, data)
        for note in notes:  # what the image loses, named by input; other warnings as Python shows them
            if issubclass(note.category, ImageNote):
                click.echo(f"rdc: warning: {source}: {note.message}", err=True)
            else:
                warnings.showwarning(note.message, note.category, note.filename, note.lineno)
        return result

    def fit(source, data):
        fitted = codec.encode_to_size(data, max_bytes=max_bytes, max_bpp=bpp, layers=layers, effort=effort,
                                      progress=not quiet)
        info = codec.info(fitted.data)
        note = " (the target lies above the model's range)" if fitted.reached_top else ""
        click.echo(f"rdc: {source}: {info['bpp']:.4f} bpp, {len(fitted.data)} bytes at rate {fitted.rate:.3f} "
                   f"with {fitted.layers} residual layers{note}", err=True)
        return fitted.data

    _run_batch(sources, output, ".rdc", work, force, read=False, targets=tree_targets)


def _parse_size(text: str) -> int:
    units = {"k": 1000, "m": 1000**2}
    number, unit = (text[:-1], units[text[-1].lower()]) if text and text[-1].lower() in units else (text, 1)
    try:
        value = int(float(number) * unit)
    except ValueError:
        raise click.BadParameter(f"expected bytes like 20000, 20k or 1.5M, got {text!r}", param_hint="--size") from None
    if value <= 0:
        raise click.BadParameter("must be positive", param_hint="--size")
    return value


@main.command(epilog="""\b
Examples:
  rdc decode img.rdc --beta 0.5            # img.decoded.png beside img.rdc
  rdc decode img.rdc --beta 1 -o machine.png   # the machine-oriented image
  rdc decode coded/*.rdc -o out/ --format webp
  rdc decode - -o - < img.rdc > img.png
""")
@click.argument("streams", nargs=-1, required=True)
@click.option("-o", "--output", default=None,
              help="Output file, directory (several inputs), or - for stdout. Default: beside each input, <stem>.decoded.<format>.")
@click.option("--beta", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="0 = most faithful picture, 1 = machine-oriented primary image.")
@click.option("--layers", type=click.IntRange(min=0), default=None, help="Decode only the first k residual layers.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Image format (default: from the output suffix, else png).")
@click.option("--strict", is_flag=True, help="Treat a damaged residual layer as an error.")
@max_pixels_option
@force_option
@weights_option
def decode(streams, output, beta, layers, fmt, strict, max_pixels, force, weights):
    """Decompress .rdc streams into images."""
    from .images import encode_image

    if fmt is None:
        suffix = Path(output).suffix.lower() if output not in (None, "-") and len(streams) == 1 else ""
        fmt = SUFFIX_FORMATS.get(suffix, "png")
    codec = _load_codec(weights, max_pixels)

    def work(source, data):
        decoded = codec.decode(data, beta=beta, layers=layers, strict=strict)
        for problem in decoded.problems:
            click.echo(f"rdc: warning: {source}: {problem}; decoded with {decoded.layers} residual layers", err=True)
        return encode_image(decoded.image, fmt)

    ext = {"jpeg": ".jpg", "tiff": ".tif"}.get(fmt, "." + fmt)
    suffix = ext if output is not None else DECODED_SUFFIX + ext
    _run_batch(list(streams), output, suffix, work, force)


@main.command(epilog="""\b
Examples:
  rdc info img.rdc
  rdc info img.rdc --json | jq .bpp_per_layers
""")
@click.argument("stream")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(stream, as_json):
    """Describe an .rdc stream: header, sections, bpp per layer prefix."""
    import json

    from .codec import describe

    try:
        report = describe(_read_input(stream))
    except RDCError as e:
        raise RDCError(_named(stream, e)) from None
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(f"{stream}: {report['width']}x{report['height']} {report['mode']}, rate {report['rate']:g}, "
               f"{report['layers']} residual layers, {report['bytes']} bytes ({report['bpp']:.4f} bpp)")
    click.echo(f"model {report['model_sha256']}")
    for s in report["sections"]:
        click.echo(f"  {s['type']:<9} {s['index']:>2} {s['bytes']:>9} bytes")
    for k, bpp in report["bpp_per_layers"].items():
        click.echo(f"  primary + {k} residual layers: {bpp:.4f} bpp")
    for p in report["problems"]:
        click.echo(f"  problem: {p}")


@main.command(epilog="""\b
Examples:
  rdc extract img.rdc --layers 1 -o img-l1.rdc
  rdc encode img.png -o - | rdc extract - --layers 0 -o - > machine-only.rdc
""")
@click.argument("stream")
@click.option("--layers", type=click.IntRange(min=0), required=True, help="Residual layers to keep.")
@click.option("-o", "--output", required=True, help="Output file, or - for stdout.")
@force_option
def extract(stream, layers, output, force):
    """Drop residual layers from a stream without decoding or re-encoding."""
    from .container import drop_layers

    _run_batch([stream], output, ".rdc", lambda source, data: drop_layers(data, layers), force)


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None


@main.command("eval", epilog="""\b
Examples:
  rdc eval ../shared/data/kodak -o results/kodak
  rdc eval ../shared/data/imagenet-samples --task classify --classifier 2 --limit 200 -o results/imagenet
  rdc eval ../shared/data/imagenet-samples --task features --limit 200 -o results/features
  rdc eval ../shared/data/kodak --rates 0,2,5 --betas 0,1 --baselines avif --limit 4 -o /tmp/quick
""")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--task", type=click.Choice(["rd", "classify", "features"]), default="rd", show_default=True,
              help="rd: PSNR and MS-SSIM; classify: ImageNet top-1/top-5; features: cosine similarity of the "
                   "judge's feature maps at strides 8/16/32, location by location.")
@click.option("--rates", default="0,1,2,3,4,5", show_default=True, help="Comma-separated rate levels.")
@click.option("--betas", default="0,0.5,1", show_default=True, help="Comma-separated β values.")
@click.option("--layers", "layer_list", default="1,2,3", show_default=True,
              help="Residual layer counts for β < 1 (β = 1 uses none).")
@click.option("--baselines", default="jpeg,webp,avif", show_default=True)
@click.option("--classifier", type=click.Choice(["0", "1", "2"]), default="2", show_default=True,
              help="EfficientNet-Lite variant judging --task classify and --task features.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate on N images (evenly spaced).")
@click.option("--effort", type=click.IntRange(0, 3), default=0, show_default=True, help="rdc's encoder effort.")
@click.option("-o", "--output", "out_dir", default="results/eval", show_default=True)
@weights_option
def evaluate(data_dir, task, rates, betas, layer_list, baselines, classifier, limit, effort, out_dir, weights):
    """Rate–distortion / rate–accuracy curves against JPEG, WebP and AVIF, with BD-rates and plots."""
    from .evaluate.baselines import QUALITIES
    from .evaluate.run import evaluate as run_eval

    names = [b for b in baselines.split(",") if b]
    unknown = [b for b in names if b not in QUALITIES]
    if unknown:
        raise click.BadParameter(f"unknown baseline {unknown[0]!r}", param_hint="--baselines")
    beta_values = _floats(betas)
    if any(not 0 <= b <= 1 for b in beta_values):
        raise click.BadParameter("β must lie in [0, 1]", param_hint="--betas")
    report = run_eval(data_dir, task, _floats(rates), beta_values, [int(v) for v in _floats(layer_list)],
                      names, out_dir, limit, int(classifier), weights, effort)
    for curve, table in report["bd_rate"].items():
        cells = ", ".join(f"{k}: {'n/a' if v is None else f'{v:+.1f}%'}" for k, v in table.items())
        click.echo(f"BD-rate {curve}: {cells}")
    for step, gain in report["scalability"]["layer_steps"].items():
        click.echo(f"layers {step} at β=0: {gain['mean_db']:+.3f} dB on average, least {gain['least_db']:+.3f} dB, "
                   f"not rising in {gain['not_rising']} of {gain['of']}")
    beta = report["scalability"]["beta"]
    if beta["of"]:
        click.echo(f"PSNR monotonic in β ({', '.join(f'{b:g}' for b in beta['betas'])}): "
                   f"{beta['monotonic']} of {beta['of']}")
    click.echo(f"results in {out_dir}")


@main.group(epilog="""\b
Examples:
  rdc train stage1 --iterations 10000 --out runs/default/stage1
  rdc train stage2 --init runs/default/stage1/checkpoint.pt --out runs/default/stage2
  rdc train export runs/default/stage1 runs/default/stage2 -o rdccodec/weights/default.pt
""")
def train():
    """Train the model: stage I (primary, cognition loss), stage II (residual layers)."""


def _channel_counts(ctx, param, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        counts = tuple(int(v) for v in value.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise click.BadParameter("positive channel counts separated by commas, e.g. 12,12,72")
    return counts


def _train_options(f):
    options = [
        click.option("--data", multiple=True, default=["../shared/data/train"], show_default=True,
                     help="Folder of training photos (repeatable)."),
        click.option("--out", required=True, help="Run folder: checkpoint.pt, log.csv, settings.json."),
        click.option("--iterations", type=click.IntRange(min=1), required=True),
        click.option("--batch", type=click.IntRange(min=2), default=8, show_default=True),
        click.option("--crop", type=click.IntRange(min=64), default=128, show_default=True),
        click.option("--lr", type=float, default=3e-4, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True),
        click.option("--accumulate", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Micro-batches per update: the effective batch is --batch × --accumulate."),
        click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
                     help="Keep an exponential moving average of the weights with this decay (e.g. 0.999) in "
                          "the run folder's average.pt; 0: none."),
        click.option("--device", default="cpu", show_default=True,
                     help="Torch device to train on, e.g. cuda (checkpoints load anywhere)."),
        click.option("--lambdas", type=(float, float), default=None,
                     help="λ of the lowest and the highest rate level (default: the stage's own)."),
        click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint."),
        click.option("--residual-layers", callback=_channel_counts,
                     help="Residual latent channels of each scalable layer, comma-separated (default: as in "
                          "--init or the resumed checkpoint, else 12,12,72)."),
        click.option("--residual-synthesis", "residual_synthesis_hidden", type=click.IntRange(min=1),
                     help="Width of the residual synthesis (default: as in --init or the resumed checkpoint, "
                          "else 64). A narrower one in --init is widened without changing its "
                          "output, and training goes on from there."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _train(stage, init=None, **kw):
    from .train import stage1, stage2
    from .train.loop import TrainSettings, run as run_training

    resume = kw.pop("resume")
    settings = TrainSettings(stage=stage, data=list(kw.pop("data")), init=init, **kw)
    path = run_training(settings, stage1.build if stage == 1 else stage2.build, resume=resume)
    click.echo(f"checkpoint: {path}")


@train.command("stage1", epilog="""\b
Examples:
  rdc train stage1 --iterations 10000 --out runs/default/stage1
  rdc train stage1 --iterations 10000 --out runs/default/stage1 --resume
  rdc train stage1 --iterations 5000 --lr 1.5e-4 --out runs/more/stage1 --init runs/default/stage2/checkpoint.pt
  rdc train stage1 --device cuda --batch 16 --crop 256 --iterations 5000 --out runs/gpu/stage1
  rdc train stage1 --batch 4 --accumulate 4 --ema 0.999 --spatial-cognition --iterations 3000 --out runs/r27/stage1
  rdc train stage1 --primary-width 96 --iterations 4000 --out runs/wide/stage1 --init rdccodec/weights/default.pt
  rdc train stage1 --spatial-cognition contrastive --iterations 4000 --out runs/dense/stage1 --init rdccodec/weights/default.pt
  rdc train stage1 --spatial-cognition --spatial-weight 800 --iterations 4000 --out runs/dense/stage1 --init rdccodec/weights/default.pt
  rdc train stage1 --checkerboard --iterations 4000 --out runs/context/stage1 --init rdccodec/weights/default.pt
""")
@_train_options
@click.option("--init", type=click.Path(exists=True, dir_okay=False),
              help="Start from this checkpoint's or weights file's networks (a fresh schedule and optimiser).")
@click.option("--primary-width", "hidden", type=click.IntRange(min=1),
              help="Width of the primary's analysis and synthesis (default: as in --init or the resumed "
                   "checkpoint, else 64). A narrower one in --init is widened without changing its output.")
@click.option("--checkerboard", is_flag=True, default=None,
              help="Add a checkerboard context to the primary latent, trained with the transforms (it starts "
                   "at zero: the model computes what --init did). Its streams are version 3.0.")
# the forms are train.stage1.SPATIAL_TERMS' keys, spelt out: the CLI starts without importing torch
@click.option("--spatial-cognition", type=click.Choice(["distance", "contrastive"]), is_flag=False,
              flag_value="distance", default=None,
              help="Add the backbone's feature maps at strides 8/16/32, compared location by location, to the "
                   "pooled InfoNCE: by a normalised distance (alone: distance) or by InfoNCE over the "
                   "locations of the batch's images (contrastive).")
@click.option("--spatial-weight", type=click.FloatRange(min=0), default=None,
              help="Weight of --spatial-cognition's term in units of 255²·MSE (default: the form's, 200 for "
                   "distance and 27 for contrastive).")
def train_stage1(init, **kw):
    """Primary branch with gain units: rate + λ_level·(cognition + local MSE)."""
    if kw["spatial_weight"] is not None and not kw["spatial_cognition"]:
        raise click.UsageError("--spatial-weight weighs --spatial-cognition's term: give both")
    _train(1, init=init, **kw)


@train.command("stage2", epilog="""\b
Examples:
  rdc train stage2 --iterations 6000 --out runs/default/stage2 --init runs/default/stage1/checkpoint.pt
  rdc train stage2 --iterations 6000 --out runs/equal/stage2 --init runs/default/stage1/checkpoint.pt --residual-layers 32,32,32
  rdc train stage2 --iterations 9000 --out runs/wide/stage2 --init runs/default/stage2/checkpoint.pt --residual-synthesis 96
""")
@_train_options
@click.option("--init", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Stage I checkpoint (or weights file); its primary branch stays frozen.")
def train_stage2(init, **kw):
    """Residual layers on the frozen primary branch."""
    _train(2, init=init, **kw)


@train.command("export", epilog="""\b
Examples:
  rdc train export runs/default/stage1 runs/default/stage2 -o rdccodec/weights/default.pt --command "make train"
  rdc train export runs/gpu/stage1 runs/gpu/stage2 -o rdccodec/weights/default.pt --earlier runs/r11/weights.json
  rdc train export runs/r27/stage1 runs/r27/stage2 -o runs/r27/weights.pt --average
""")
@click.argument("stage1_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("stage2_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", required=True, help="Weights file; the card goes beside it as .json.")
@click.option("--command", "command", default="", help="The training command, for the card.")
@click.option("--notes", default="", help="Free text for the card.")
@click.option("--average", is_flag=True, help="Ship stage II's weight average (average.pt, from --ema) instead "
                                              "of its last weights.")
@click.option("--earlier", multiple=True, type=click.Path(exists=True),
              help="A run folder, or the model card (.json) of weights, the stages continued from (repeatable, "
                   "oldest first); recorded in the card.")
def train_export(stage1_dir, stage2_dir, output, command, notes, earlier, average):
    """Write fp16 weights with their integer entropy tables and the JSON model card."""
    from .train.export import export

    card = export(stage1_dir, stage2_dir, output, command, notes, earlier, average)
    click.echo(f"{output}: sha256 {card['sha256']}")


def run() -> None:
    """Console entry point: one-line errors, exit 1 on bad data, 130/143 on interruption."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reuse_freed_memory()
    try:
        main.main(standalone_mode=False, prog_name="rdc")
    except click.exceptions.Abort:
        _fail("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        _fail("interrupted")
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except RDCError as e:
        _fail(str(e))
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as e:  # a bug: still one line, unless RDC_DEBUG asks for the traceback
        if os.environ.get("RDC_DEBUG"):
            raise
        _fail(f"internal error: {type(e).__name__}: {e}")
        sys.exit(1)
