"""Run the shell examples of the README and of docs/*.md, so that the docs cannot drift from the code.

Every ```sh block runs with bash -e in a temporary folder that holds img.png, photos/ (a small tree) and the
repository's .venv/bin on PATH. A block whose first line is a comment starting with `# long:` (training,
full evaluations, schedulers) is checked instead: each `rdc …` command in it is parsed by the real command
line (subcommands, options and their values, existing inputs), each `make T` must name a target, each
`python scripts/X` must exist. Exit status 1 on the first failure, naming the file and the line.

    python scripts/docs_check.py            # make docs-check
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def blocks(path: Path):
    text = path.read_text()
    for match in FENCE.finditer(text):
        yield text[:match.start()].count("\n") + 2, match.group(1)


def fixtures(folder: Path) -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:384]
    smooth = np.stack([(x * 0.6) % 256, (y * 0.9) % 256, (x + y) * 0.35 % 256], 2).astype(np.uint8)
    Image.fromarray(smooth).save(folder / "img.png")
    for name in ("a.png", "b.jpg", "street/c.png"):
        path = folder / "photos" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(path)


def check_long(block: str, where: str, cwd: Path) -> None:
    from rdccodec.cli import main

    for number, line in enumerate(block.splitlines()):
        line = line.split(" #")[0].strip()
        line = line.replace("{}", "0").replace("$SLURM_ARRAY_TASK_ID", "0")
        for args in rdc_commands(line):
            command = shlex.join(["rdc", *args])
            try:
                previous = os.getcwd()
                os.chdir(cwd)
                main.make_context("rdc", list(args))  # parses group and subcommand options
                _subcommand_context(main, args)
            except SystemExit as e:
                if e.code:
                    raise RuntimeError(f"{where}+{number}: does not parse: {command}") from None
            except click.BadParameter as e:
                if "does not exist" not in str(e):  # outputs of earlier steps (runs/…) may not exist yet
                    raise RuntimeError(f"{where}+{number}: does not parse: {command} ({e})") from None
            except Exception as e:
                raise RuntimeError(f"{where}+{number}: does not parse: {command} ({e})") from None
            finally:
                os.chdir(previous)
        make = re.match(r"make ([\w-]+(?: [\w-]+)*)", line)
        if make:
            for target in make.group(1).split():
                done = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(f"{where}+{number}: no make target {target}")
        script = re.search(r"python (scripts/\S+)", line)
        if script and not (ROOT / script.group(1)).exists():
            raise RuntimeError(f"{where}+{number}: no {script.group(1)}")


def rdc_commands(line: str) -> list[list[str]]:
    """The arguments of each `rdc` command in a shell line, also inside quoted strings (`--wrap '…'`)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens, found, i = list(lexer), [], 0
    while i < len(tokens):
        if tokens[i] == "rdc":
            j = i + 1
            while j < len(tokens) and not set(tokens[j]) <= set("|&;<>()"):
                j += 1
            found.append(tokens[i + 1:j])
            i = j
        else:
            if "rdc " in tokens[i]:
                found += rdc_commands(tokens[i])
            i += 1
    return found


def _subcommand_context(group, args: list[str]) -> None:
    """Parse the arguments of the (nested) subcommand that `args` names, as click would before running."""
    while isinstance(group, click.Group) and args:
        name = next((a for a in args if not a.startswith("-")), None)
        if name is None or name not in group.commands:
            return
        args = args[args.index(name) + 1:]
        group = group.commands[name]
        if not isinstance(group, click.Group):
            if "--help" not in args:
                group.make_context(name, list(args))
            return


def main() -> int:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    env = os.environ | {"PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    ran = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        fixtures(cwd)
        for page in pages:
            for line, block in blocks(page):
                where = f"{page.relative_to(ROOT)}:{line}"
                try:
                    if block.lstrip().startswith("# long:"):
                        check_long(block, where, ROOT)
                        checked += 1
                        continue
                    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=cwd, env=env,
                                          capture_output=True, text=True, timeout=600)
                    if done.returncode:
                        raise RuntimeError(f"{where}: exit {done.returncode}\n{block}\n{done.stderr[-2000:]}")
                    ran += 1
                except RuntimeError as e:
                    print(f"docs-check: {e}", file=sys.stderr)
                    return 1
    print(f"docs-check: {ran} blocks ran, {checked} long blocks parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
