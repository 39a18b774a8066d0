"""Draw results/arms.png: each arm's greedy pass@1 with its 95% interval on HumanEval and MBPP's test split.

Reads the summaries `run.sh duels` copied into results/; run it from anywhere: python plot.py
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
ARMS = {"a": "A: verified rows", "b": "B: unverified rows", "c": "C: base student"}
BENCHMARKS = {"humaneval": "HumanEval (164)", "mbpp": "MBPP test (500)"}


def main() -> None:
    """Draw the chart."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.26
    for i, (arm, label) in enumerate(ARMS.items()):
        xs, values, errors = [], [], [[], []]
        for j, bench in enumerate(BENCHMARKS):
            p = json.loads((HERE / "results" / f"{arm}-{bench}" / "summary.json").read_text())["pass_at_k"]["pass@1"]
            xs.append(j + (i - 1) * width)
            values.append(p["value"])
            errors[0].append(p["value"] - p["low"])
            errors[1].append(p["high"] - p["value"])
        ax.bar(xs, values, width, yerr=errors, capsize=3, label=label)
    ax.set_xticks(range(len(BENCHMARKS)), list(BENCHMARKS.values()))
    ax.set_ylabel("greedy pass@1 (95% interval)")
    ax.set_title("gemma-3-270m after 140 rows of Qwen 0.5B answers (MBPP train)")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(HERE / "results" / "arms.png", dpi=120)


if __name__ == "__main__":
    main()
