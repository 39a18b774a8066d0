"""``loss.png``: the training loss per step, and the dev-set pass@1 of each candidate checkpoint if any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coderank.errors import CoderankError, install_hint


def plot_loss(loss: list[list[float]], scores: dict[str, dict[str, Any]], chosen: str | None, title: str,
              out: Path) -> Path:
    """Draw the curve with matplotlib's Agg backend (no display needed) and write it to ``out``.

    Raises:
        CoderankError: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise CoderankError("matplotlib is not installed, so loss.png cannot be drawn",
                            install_hint("train")) from exc
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    try:
        if loss:
            steps, values = zip(*((s, v) for s, v in loss), strict=True)
            ax.plot(steps, values, color="#1f77b4", linewidth=1.2, marker="." if len(loss) < 60 else None,
                    label="training loss")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss (response tokens)")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        if scores:
            dev = ax.twinx()
            pts = sorted((v["step"], v["pass@1"] or 0.0, k) for k, v in scores.items())
            dev.plot([p[0] for p in pts], [p[1] for p in pts], color="#d62728", marker="o", linestyle="--",
                     linewidth=1, label="dev pass@1")
            for step, value, name in pts:
                if name == chosen:
                    dev.annotate("chosen", (step, value), textcoords="offset points", xytext=(4, 6), fontsize=8,
                                 color="#d62728")
            dev.set_ylabel("dev pass@1", color="#d62728")
            dev.set_ylim(-0.02, 1.02)
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out
