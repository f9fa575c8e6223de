"""PNG plots of the averaged curves (matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path


def plot_curves(curves: dict[str, list[dict]], metric: str, label: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    for name, points in curves.items():
        points = [p for p in points if p.get(metric) is not None]
        if points:
            style = "-o" if name.startswith("rdc") else "--"
            ax.plot([p["bpp"] for p in points], [p[metric] for p in points], style, label=name, markersize=3)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
