"""``coderank distill``: SFT data from a teacher model, each row kept for what its execution showed.

Two sources of instructions, two kinds of evidence:

- **Trusted tests** (``benchmark``: ``mbpp-train``, ``mbpp-valid``, ``classic`` or a problem file). The teacher
  answers every problem ``k`` times through ``coderank eval`` itself: the same prompt templates, completion cache,
  extraction and sandbox, and the samples are an ordinary eval run in the store (``coderank show`` and ``coderank
  verify`` work on it). Each verdict comes from the problem's own tests. Rows are labelled ``verified``.
  HumanEval and MBPP's test split are refused, as is a problem file that copies their problems.
- **Self-written tests** (``instructions``: what ``coderank evol`` writes, or any seed file): the teacher answers
  with a solution and assert tests, which the sandbox runs together, along with mutants the tests must reject
  (:mod:`coderank.distill._selftest`). The samples are a ``selftest`` run. Rows are labelled ``self-verified``.

From those samples, the data set (a ``distill`` run of its own):

1. **candidates**: per problem, the samples that passed (``select="verified"``) or, for the control arm, every
   sample with code whatever its verdict (``select="unverified"``), each distinct program once;
2. **ranked** by a seeded hash of (seed, task id, sample index) — not by the order they finished in — so the
   choice is reproducible and the same for every backend and number of workers;
3. **decontaminated** against HumanEval and MBPP's test split by default (:func:`coderank.rigor.contam.flag_rows`,
   the detectors of ``coderank contam``), before choosing, so a leaked candidate is replaced by the next one;
4. **chosen**: the first ``keep`` clean candidates of each problem, or with ``match`` as many as another distill
   data set has for that problem. Made from the same samples (refused otherwise), a ``verified`` set and an
   ``unverified`` one then have the same instructions and row counts, and differ only in how rows were chosen.

The JSONL and its manifest (``DATA.manifest.json``, see :data:`MANIFEST_FIELDS`) are written once, atomically, at
the end. Every model call is in the completion cache and every verdict in the store, so a killed run resumes by
running the same command (nothing generated or executed twice, nothing duplicated), and choosing differently
(``keep``, ``select``, ``match``, decontamination) generates and executes nothing again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import coderank
from coderank.datagen import DECONTAM_DEFAULT as DECONTAM_DEFAULT  # where it was defined before: kept importable
from coderank.datagen import DataGenConfig
from coderank.digest import sha256_bytes, sha256_text
from coderank.distill import _selftest
from coderank.errors import InputError, UsageError
from coderank.execution.sandbox import Limits
from coderank.models.backends import check_decoding
from coderank.paths import require_file, write_atomic
from coderank.record import (
    BenchmarkRef,
    PassAtK,
    Record,
    RunManifest,
    TemplateRef,
    generated_here,
    merge_servers,
    platform_info,
)
from coderank.store import Store
from coderank.types import Status

Progress = Callable[[str, int, int], None]  # (phase, done, total)

MANIFEST_VERSION = 1
SELECTIONS = ("verified", "unverified")
"""``verified``: rows from samples that passed; ``unverified``: from any sample with code (the control arm)."""
OUTPUT_FORMS = ("program", "answer")
"""A row's output: the code that ran, in a ```python block; or the teacher's whole reply (chat templates only)."""

MANIFEST_FIELDS = {
    "version": "layout version of this manifest (1)",
    "kind": "always 'distill'",
    "coderank_version": "version of coderank that wrote it",
    "run_id": "the distill run in the store (coderank show RUN)",
    "label": "what the kept rows are: verified (trusted tests), self-verified (the teacher's own tests) or "
             "unverified (--select unverified)",
    "select": "verified or unverified",
    "keep": "rows per problem at most (null with match)",
    "match": "null, or the data set whose per-problem row counts were copied: path, sha256, select",
    "output_form": "program or answer",
    "tests": "trusted or self-written",
    "teacher": "spec, identity (weights sha256, or API model and base URL or --served-model) and prompt template "
               "(name, kind, sha256); servers: the URLs that served it, with --served-model",
    "source": "the instructions: name, version, sha256, problems used, of how many",
    "k": "samples per problem",
    "seed": "sample i of a problem is generated with seed + i; the ranking hash is seeded with it too",
    "decoding": "temperature, top_p, max_tokens",
    "samples": "the samples run (an eval run for trusted tests, a selftest run otherwise): run_id, kind, samples, "
               "passed, pass_rate, status_counts, pass_at_k with 95% intervals",
    "selftest": "for self-written tests: version and sha256 of the prompt, runner and mutants; the mutants",
    "per_problem": "task id -> samples, passed (of samples), candidates (eligible distinct programs), leaked "
                   "(candidates dropped by decontamination), rows",
    "decontam": "benchmarks (name, sha256), embeddings (bool), detectors (name -> threshold, each detector that ran), "
                "dropped (task_id, sample_index, leaks), "
                "problems_lost (problems that got fewer rows than they would have without it)",
    "sandbox_limits": "the limits programs ran under",
    "sandbox_isolation": "the isolation layers that were active",
    "output": "path, rows and sha256 of the data file",
    "platform": "python, system, machine",
}
"""Every key of the manifest and what it holds (its stable, documented layout)."""


@dataclass(frozen=True, kw_only=True)
class DistillManifest(Record):
    """The manifest of a distill run, in the store and beside the data: its keys are :data:`MANIFEST_FIELDS`.

    Unknown keys stay in ``extra`` and everything comes back exactly with ``to_dict()`` (see
    :class:`~coderank.record.Record`). ``run_id`` is null until the run is in the store, ``keep`` null with
    ``match``, and ``match`` null without.
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"selftest"})

    version: int | None = None
    kind: str | None = None
    coderank_version: str | None = None
    run_id: str | None = None
    label: str | None = None
    select: str | None = None
    keep: int | None = None
    match: dict[str, Any] | None = None
    output_form: str | None = None
    tests: str | None = None
    teacher: dict[str, Any] = field(default_factory=dict)
    source: BenchmarkRef = field(default_factory=BenchmarkRef)
    k: int | None = None
    seed: int | None = None
    decoding: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    per_problem: dict[str, dict[str, int]] = field(default_factory=dict)
    decontam: dict[str, Any] = field(default_factory=dict)
    sandbox_limits: dict[str, Any] = field(default_factory=dict)
    sandbox_isolation: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)
    selftest: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class DistillConfig(DataGenConfig):
    """Everything that decides a distillation.

    Beside the options it shares with ``evol`` (:class:`~coderank.datagen.DataGenConfig`: ``out``, ``model``,
    ``temperature``, ``top_p``, ``seed``, ``limit``, ``decontam``, ``embeddings``, ``workers``, ``backend``,
    ``store``), which here mean: ``model`` is the teacher, ``temperature`` may be 0 only with ``k`` = 1, sample i
    is generated with ``seed + i`` and the ranking is seeded with ``seed`` too, and ``limit`` takes the first N
    problems or instructions.

    Attributes:
        benchmark: Instructions with trusted tests: a benchmark name or problem file (exclusive with
            ``instructions``).
        instructions: Instructions without tests (``coderank evol`` output, or a seed file).
        k: Samples per problem.
        keep: Rows per problem at most (default 1); not with ``match``.
        select: One of :data:`SELECTIONS`.
        match: A distill manifest whose per-problem row counts to copy (made from the same samples).
        max_tokens: Token limit per answer.
        tasks: Only these task (or instruction) ids.
        template: Prompt template for trusted-test problems (default: the teacher's ``eval`` default).
        output_form: One of :data:`OUTPUT_FORMS`.
        limits: Sandbox limits.
    """

    benchmark: str | None = None
    instructions: Path | None = None
    k: int = 10
    keep: int | None = None
    select: str = "verified"
    match: Path | None = None
    max_tokens: int = 512
    tasks: tuple[str, ...] = ()
    template: str | None = None
    output_form: str = "program"
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, kw_only=True)
class DistillResult(Record):
    """The outcome of :func:`distill`; ``to_json()`` is the document ``coderank distill --json`` prints.

    The run's stored summary is this document less ``manifest``. Keys this version does not type stay in
    ``extra`` (see :class:`~coderank.record.Record`).

    Attributes:
        run_id: The distill run in the store.
        samples_run: The samples' run (an eval run for trusted tests, a selftest run for self-written ones).
        resumed: The samples' run went on from an earlier, unfinished call.
        model: The teacher's model spec.
        source: The instructions' name (benchmark, problem file or instructions file).
        tests: ``trusted`` or ``self-written``.
        label: What the rows are: ``verified``, ``self-verified`` or ``unverified``.
        select: ``verified`` or ``unverified``.
        keep: Rows per problem at most (None with ``match``).
        out: The data file.
        manifest_path: The manifest beside it.
        rows: Rows written.
        out_sha256: The data file's hash.
        problems: Problems (or instructions) the rows were chosen from.
        samples: Samples judged.
        passed: Samples that passed.
        pass_rate: ``passed / samples`` to 4 places (None without samples).
        status_counts: Status -> samples.
        pass_at_k: The teacher's pass@k on the problems, with 95% intervals.
        problems_with_pass: Problems with a passing sample.
        problems_with_rows: Problems that got a row.
        leaked: Candidates that decontamination dropped.
        truncated: Answers that hit the token limit.
        generated: Answers this call generated.
        cached: Answers this call took from the completion cache.
        generation_seconds: Time this call spent generating.
        tokens_per_second: Generation speed of this call (None when it generated nothing).
        wall_seconds: This call's time in all.
        isolation: The sandbox isolation layers that were active.
        manifest: The data set's manifest (``DATA.manifest.json``).
    """

    run_id: str = ""
    samples_run: str = ""
    resumed: bool = False
    model: str = ""
    source: str = ""
    tests: str = ""
    label: str | None = None
    select: str = ""
    keep: int | None = None
    out: str = ""
    manifest_path: str = ""
    rows: int = 0
    out_sha256: str = ""
    problems: int = 0
    samples: int = 0
    passed: int = 0
    pass_rate: float | None = None
    status_counts: dict[str, int] = field(default_factory=dict)
    pass_at_k: dict[str, PassAtK] = field(default_factory=dict)
    problems_with_pass: int = 0
    problems_with_rows: int = 0
    leaked: int = 0
    truncated: int = 0
    generated: int = 0
    cached: int = 0
    generation_seconds: float = 0.0
    tokens_per_second: float | None = None
    wall_seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    manifest: DistillManifest = field(default_factory=DistillManifest)

    def to_json(self) -> dict[str, Any]:
        """The result as the JSON document it is printed as."""
        return self.to_dict()


@dataclass(frozen=True)
class _Candidate:
    """One sample as a possible row."""

    task_id: str
    index: int
    status: str
    code: str | None
    answer_key: str | None
    instruction: str
    input: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Samples:
    """The samples a data set is chosen from, and where they came from."""

    run_id: str
    kind: str
    tests: str
    label: str
    source: dict[str, Any]
    teacher: dict[str, Any]
    order: list[str]
    candidates: list[_Candidate]
    summary: dict[str, Any]
    selftest: dict[str, Any] | None = None


def manifest_path(out: Path) -> Path:
    """Where the manifest of a data file goes: ``DATA.jsonl`` -> ``DATA.manifest.json``."""
    from coderank.evol.evolution import manifest_path as beside

    return beside(out)


def rank(seed: int, task_id: str, index: int) -> str:
    """The order candidates of a problem are chosen in: a seeded hash of the sample, not its finishing time."""
    return hashlib.sha256(f"distill:{seed}:{task_id}:{index}".encode()).hexdigest()


def _check_config(config: DistillConfig) -> None:
    from coderank.execution.pool import check_workers
    from coderank.paths import check_output_file

    if (config.benchmark is None) == (config.instructions is None):
        raise UsageError("give the instructions: either -b BENCHMARK (problems with trusted tests) or "
                         "--instructions FILE (instructions without tests: the teacher writes them)",
                         "e.g. coderank distill -b mbpp-train -o data.jsonl, or coderank distill --instructions "
                         "evol.jsonl -o data.jsonl")
    for name, value in (("-k", config.k), ("--max-tokens", config.max_tokens)):
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    if config.keep is not None:
        if config.keep < 1:
            raise UsageError(f"--keep must be at least 1, got {config.keep}")
        if config.keep > config.k:
            raise UsageError(f"--keep {config.keep} is more than the {config.k} samples per problem (-k)",
                             "raise -k or lower --keep")
        if config.match is not None:
            raise UsageError("--keep and --match both say how many rows a problem gets",
                             "leave --keep out: with --match each problem gets as many rows as in that data set")
    if config.select not in SELECTIONS:
        raise UsageError(f"unknown --select {config.select!r}", f"use one of: {', '.join(SELECTIONS)}")
    if config.output_form not in OUTPUT_FORMS:
        raise UsageError(f"unknown --output-form {config.output_form!r}", f"use one of: {', '.join(OUTPUT_FORMS)}")
    check_decoding(config.temperature, config.top_p)
    if config.temperature == 0 and config.k > 1:
        raise UsageError(f"-k {config.k} with temperature 0 asks for the same greedy answer {config.k} times",
                         "sample with --temperature 0.7 (for example), or use -k 1")
    if config.instructions is not None and config.template is not None:
        raise UsageError("--prompt-template applies to -b problems; instructions without tests are asked with "
                         "coderank's own solution-and-tests prompt", "leave --prompt-template out")
    check_workers(config.workers)
    if not config.out.name.endswith(".jsonl"):
        raise UsageError(f"--out {config.out}: the output is JSON Lines", "give a file name ending in .jsonl")
    inputs = [p for p in (config.instructions, config.match) if p is not None]
    if config.benchmark is not None:
        inputs.append(Path(config.benchmark))
    check_output_file(config.out, inputs)
    check_output_file(manifest_path(config.out), inputs, option="--out (its manifest)")
    if config.instructions is not None:
        require_file(config.instructions, "instructions file", "give the JSONL that coderank evol wrote, or a seed "
                     "file ({id, instruction, input} lines, or an Alpaca JSON array)")


def distill(config: DistillConfig, progress: Progress | None = None) -> DistillResult:
    """Sample answers from a teacher, judge them by execution, and write the chosen rows and their manifest.

    Returns:
        What it made (:class:`DistillResult`): run ids, rows written, pass counts, decontamination, timings, and
        the ``manifest``.

    Raises:
        UsageError: bad options, a test split as the source, a ``match`` made from other samples.
        InputError: an unreadable instructions, problem or ``match`` file (naming file and line).
        CoderankError: the teacher cannot be loaded or its server keeps failing (the run stays resumable).
    """
    _check_config(config)
    match = _read_match(config.match) if config.match is not None else None
    benches = _benchmarks(config.decontam)
    if benches:
        from coderank.rigor.contam import ensure_detectors

        ensure_detectors(config.embeddings)
    started = time.monotonic()
    if config.benchmark is not None:
        samples = _trusted(config, match, progress)
    else:
        samples = _selftested(config, match, progress)
    if match is not None and match["samples_run"] != samples.run_id:
        raise UsageError(f"--match {config.match} was made from samples run {match['samples_run']}, these are "
                         f"samples run {samples.run_id}", _MATCH_HINT)
    pools = _pools(samples, config)
    outputs = _outputs(pools, config)
    leaks = _decontaminate(pools, outputs, config, benches, progress)
    rows, per_problem, dropped, lost = _choose(pools, outputs, leaks, samples, config, match)
    out_sha = _write_rows(config.out, rows)
    with Store(config.store) as store:
        manifest = _manifest(config, samples, match, benches, per_problem, dropped, lost, rows, out_sha)
        identity = {"kind": "distill", "samples_run": samples.run_id, "select": config.select,
                    "keep": manifest.keep, "match": match and match["sha256"], "output_form": config.output_form,
                    "decontam": [(b.name, b.sha256) for b in benches],
                    "embeddings": bool(benches) and config.embeddings, "detectors": manifest.decontam["detectors"]}
        run_id, resumed = store.open_run(identity, manifest, kind="distill", model=config.model,
                                         benchmark=samples.source["name"])
        manifest = replace(manifest, run_id=run_id)
        summary = _summary(config, samples, manifest, run_id, resumed, started)
        store.finish_run(run_id, summary, manifest)
    doc = manifest.to_dict()
    write_atomic(manifest_path(config.out), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    summary["manifest"] = doc
    return DistillResult.from_dict(summary)


_MATCH_HINT = ("--match copies row counts from a data set made from the same samples: use the same teacher (-m), "
               "instructions, -k, --temperature, --top-p, --max-tokens, --seed, --limit/--tasks and prompt template "
               "as the command that made it")


def _read_match(path: Path) -> dict[str, Any]:
    hint = "give the DATA.manifest.json that coderank distill wrote beside a data set"
    require_file(path, "--match manifest", hint)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a JSON manifest ({exc})", hint) from exc
    per = doc.get("per_problem") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("kind") != "distill" or not isinstance(per, dict):
        raise InputError(f"{path}: not a manifest written by coderank distill", hint)
    if doc.get("version") != MANIFEST_VERSION:
        raise InputError(f"{path}: manifest version {doc.get('version')!r}, this coderank reads {MANIFEST_VERSION}",
                         "make the data set again with this version of coderank")
    rows: dict[str, int] = {}
    for task_id, entry in per.items():
        count = entry.get("rows") if isinstance(entry, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"{path}: per_problem[{task_id!r}] has no row count", hint)
        rows[task_id] = count
    samples: dict[str, Any] = doc["samples"] if isinstance(doc.get("samples"), dict) else {}
    return {"path": str(path), "sha256": sha256_bytes(path.read_bytes()),
            "select": doc.get("select"), "samples_run": samples.get("run_id"), "rows": rows,
            "teacher": (doc.get("teacher") or {}).get("spec"), "source": (doc.get("source") or {}).get("sha256"),
            "template": ((doc.get("teacher") or {}).get("template") or {}).get("name"),
            "k": doc.get("k"), "seed": doc.get("seed"), "decoding": doc.get("decoding")}


def _check_match_early(match: dict[str, Any] | None, config: DistillConfig, source_sha: str,
                       task_ids: list[str], template: str) -> None:
    """Refuse a ``match`` made from other samples before anything is generated (the run id is checked after)."""
    if match is None:
        return
    ours = {"teacher": config.model, "template": template, "source": source_sha, "k": config.k, "seed": config.seed,
            "decoding": {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens}}
    differ = [key for key, value in ours.items() if match[key] != value]
    if set(match["rows"]) != set(task_ids):
        differ.append("problems")
    if differ:
        raise UsageError(f"--match {match['path']} was made from other samples (they differ in: {', '.join(differ)})",
                         _MATCH_HINT)


def _benchmarks(names: tuple[str, ...]) -> list[Any]:
    from coderank.problems import load_benchmark

    return [load_benchmark(n) for n in dict.fromkeys(names)]


# --- samples with trusted tests: an eval run ---------------------------------------------------------------

def _trusted(config: DistillConfig, match: dict[str, Any] | None, progress: Progress | None) -> _Samples:
    from coderank.evaluation import EvalConfig, default_template, evaluate, select_problems
    from coderank.models import prompts
    from coderank.problems import load_benchmark
    from coderank.train import TEST_BENCHMARKS, test_overlap

    assert config.benchmark is not None
    bench = load_benchmark(config.benchmark)
    overlap = test_overlap(bench)
    if overlap:
        what = (f"{bench.name} is a test set coderank reports scores on" if bench.name in TEST_BENCHMARKS
                else f"{len(overlap)} of its problems are HumanEval or MBPP test-split problems (e.g. {overlap[0]})")
        raise UsageError(f"refusing to make training data from {config.benchmark}: {what}, and a model trained on "
                         "it would be scored on problems it was taught",
                         "use -b mbpp-train (MBPP's training split), mbpp-valid, classic or your own problem file")
    problems = select_problems(bench, config.limit, config.tasks)
    template = prompts.get_template(config.template or default_template(config.model))
    if config.output_form == "answer" and template.kind != "chat":
        raise UsageError(f"--output-form answer needs a chat template; {template.name} is a {template.kind} template "
                         "(its answers continue the prompt)", "use --output-form program (the default)")
    _check_match_early(match, config, bench.sha256, [p.task_id for p in problems], template.name)
    result = evaluate(EvalConfig(
        model=config.model, benchmark=config.benchmark, n=config.k, temperature=config.temperature,
        top_p=config.top_p, max_tokens=config.max_tokens, seed=config.seed, limit=config.limit, tasks=config.tasks,
        template=template.name if template.source == "builtin" else template.source, backend=config.backend,
        limits=config.limits, workers=config.workers, store=config.store), progress=progress)
    # A row's instruction is what the teacher was asked (its user message, from the cached request); a teacher
    # that continued a completion prompt was not asked in words, so its rows get the chat template's message.
    chat = prompts.get_template("chat")
    asked_in_words = {p.task_id: str((chat.render(p).messages or [{}])[-1].get("content", "")) for p in problems}
    with Store(config.store) as store:
        candidates = [_Candidate(s.task_id, s.sample_index, s.status, s.program, s.completion_key,
                                 _asked(store, s.completion_key) or asked_in_words[s.task_id])
                      for s in store.samples(result.run_id)]
    eval_manifest = result.manifest.to_dict()  # the teacher's entries as the eval run's manifest has them
    return _Samples(
        run_id=result.run_id, kind="eval", tests="trusted", label="verified",
        source={"name": bench.name, "version": bench.version, "sha256": bench.sha256, "problems": len(problems),
                "of": len(bench)},
        teacher={"spec": config.model, "identity": eval_manifest["model"], "template": eval_manifest["template"],
                 **({"servers": eval_manifest["servers"]} if eval_manifest.get("servers") else {})},
        order=[p.task_id for p in problems], candidates=candidates,
        summary={"pass_at_k": {k: e.to_dict() for k, e in result.pass_at_k.items()},
                 "status_counts": result.status_counts, "truncated": result.truncated, "generated": result.generated,
                 "cached": result.cached, "generation_seconds": result.generation_seconds,
                 "tokens_per_second": result.tokens_per_second, "isolation": result.isolation,
                 "resumed": result.resumed, "unscorable_problems": result.unscorable_problems})


def _asked(store: Store, key: str | None) -> str | None:
    """The last user message of a cached chat request (None for a completion request)."""
    hit = store.get_completion(key) if key else None
    request = json.loads(hit["request"]).get("request", {}) if hit else {}
    users = [m[1] for m in request.get("messages") or [] if m and m[0] == "user"]
    return str(users[-1]) if users else None


# --- samples with self-written tests: a selftest run -------------------------------------------------------

def _selftested(config: DistillConfig, match: dict[str, Any] | None, progress: Progress | None) -> _Samples:
    from coderank.evol.seeds import load_seeds

    assert config.instructions is not None
    seeds = load_seeds(config.instructions)
    total = len(seeds)
    blob = json.dumps([[s.id, s.instruction, s.input] for s in seeds], ensure_ascii=False)
    source_sha = sha256_text(blob)
    if config.tasks:
        known = {s.id for s in seeds}
        unknown = [t for t in config.tasks if t not in known]
        if unknown:
            raise UsageError(f"unknown instruction id(s) in {config.instructions}: {', '.join(unknown[:5])}",
                             f"ids look like {seeds[0].id}")
        seeds = [s for s in seeds if s.id in set(config.tasks)]
    if config.limit is not None:
        if config.limit < 1:
            raise UsageError(f"--limit must be at least 1, got {config.limit}")
        seeds = seeds[:config.limit]
    _check_match_early(match, config, source_sha, [s.id for s in seeds], "selftest")
    with Store(config.store) as store:
        return _selftest_run(store, config, seeds, total, source_sha, progress)


def _selftest_run(store: Store, config: DistillConfig, seeds: list[Any], total: int, source_sha: str,
                  progress: Progress | None) -> _Samples:
    from coderank.evaluation import run_summary
    from coderank.generation import GenStats, cached_generate
    from coderank.models.backends import Request, load_backend, served_by

    params = {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens}
    selftest = {"version": _selftest.VERSION, "sha256": _selftest.SHA256, "mutants": dict(_selftest.MUTANTS)}
    template = TemplateRef(name="selftest", kind="chat", sha256=_selftest.SHA256)
    instructions = BenchmarkRef(name=str(config.instructions), version="instructions", sha256=source_sha,
                                problems=len(seeds), of=total)
    source = instructions.to_dict()
    stats = GenStats()
    backend = load_backend(config.model, config.backend)
    try:
        ident = backend.identity()
        if ident.get("backend") == "llama.cpp" and not ident.get("chat_template_sha256"):
            raise UsageError(f"{config.model} has no chat template of its own (a base model), so it cannot be asked to "
                             "write a solution and its tests", "use an instruct model as the teacher (the default)")
        identity = {"kind": "selftest", "model": ident, "instructions": source_sha, "ids": [s.id for s in seeds],
                    "selftest": _selftest.SHA256, "params": params, "seed": config.seed, "k": config.k,
                    "sandbox": config.limits.resolved().as_dict()}
        manifest = RunManifest.create(model_spec=config.model, model=ident, benchmark=instructions,
                                      template=template, params=params, seed=config.seed, n=config.k,
                                      selftest=selftest, sandbox_limits=config.limits.resolved().as_dict(),
                                      servers=served_by(backend))
        run_id, resumed = store.open_run(identity, manifest, kind="selftest", model=config.model,
                                         benchmark=str(config.instructions))
        if resumed:  # the manifest as stored: where it started, the servers and processors it generated on before
            stored = store.get_run(run_id).run_manifest
            manifest = replace(stored, servers=merge_servers(stored.servers, manifest.servers)
                               ) if manifest.servers else stored
        was_finished = resumed and store.get_run(run_id).status == "finished"
        done = store.done_keys(run_id)
        todo = [(s, i) for s in seeds for i in range(config.k) if (s.id, i) not in done]
        requests = [Request(kind="chat", text=None, messages=(("user", _selftest.render_prompt(s.text)),),
                            max_tokens=config.max_tokens, temperature=config.temperature,
                            top_p=config.top_p if config.temperature > 0 else 1.0, stop=(), seed=config.seed + i)
                    for s, i in todo]
        answers = cached_generate(store, backend, requests, [{"purpose": "distill-selftest", "index": i}
                                                             for _, i in todo], progress=progress, stats=stats)
    finally:
        backend.close()
    isolation = _run_selftests(store, run_id, [(s.id, i) for s, i in todo], answers, config, progress)
    summary = run_summary(store, run_id)
    summary.update({"generated": stats.generated, "cached": stats.cached,
                    "generation_seconds": round(stats.seconds, 2),
                    "tokens_per_second": round(stats.tokens / stats.seconds, 1) if stats.seconds else None,
                    "resumed": resumed and not was_finished, "isolation": isolation})
    store.finish_run(run_id, summary, manifest.finished(isolation, {},
                                                        generated_on=generated_here(manifest.model, stats.generated)))
    by_id = {s.id: s for s in seeds}
    candidates = []
    for row in store.samples(run_id):
        seed = by_id[row.task_id]
        meta = row.extraction
        candidates.append(_Candidate(
            row.task_id, row.sample_index, row.status, meta.get("solution"), row.completion_key, seed.instruction,
            seed.input, {"test_code": meta.get("tests"),
                         "tests_sha256": sha256_text(meta["tests"]) if meta.get("tests") else None,
                         "mutants": meta.get("mutants", {})}))
    return _Samples(run_id=run_id, kind="selftest", tests="self-written", label="self-verified", source=source,
                    teacher={"spec": config.model, "identity": ident, "template": template.to_dict(),
                             **({"servers": manifest.servers} if manifest.servers else {})},
                    order=[s.id for s in seeds], candidates=candidates, selftest=selftest,
                    summary={k: summary.get(k) for k in ("pass_at_k", "status_counts", "truncated", "generated",
                                                         "cached", "generation_seconds", "tokens_per_second",
                                                         "isolation", "resumed")})


def _run_selftests(store: Store, run_id: str, todo: list[tuple[str, int]], answers: list[Any], config: DistillConfig,
                   progress: Progress | None) -> dict[str, str]:
    """Split, run and mutation-check every new sample; store each verdict as soon as it is decided."""
    from coderank.execution.pool import Executor, Job

    ready: list[tuple[str, int, Any, _selftest.Split]] = []
    for (task_id, i), gen in zip(todo, answers, strict=True):
        split = _selftest.split_answer(gen.text)
        if split.status:
            _put(store, run_id, task_id, i, gen, split, None, split.status, split.detail)
        else:
            ready.append((task_id, i, gen, split))
    if not ready:
        return {}
    jobs = [Job(n, _selftest.problem(task_id), _selftest.program(str(split.solution), str(split.tests)))
            for n, (task_id, _, _, split) in enumerate(ready)]
    passed: dict[int, Any] = {}
    with Executor(workers=config.workers, limits=config.limits) as executor:
        isolation = executor.isolation
        if progress:
            progress("running answers and their tests", 0, len(jobs))
        for done, (job, verdict) in enumerate(executor.map(jobs), start=1):
            task_id, i, gen, split = ready[job.key]
            if verdict.passed:
                passed[job.key] = verdict
            else:
                _put(store, run_id, task_id, i, gen, split, verdict, verdict.status.value,
                     _selftest.failure_detail(verdict.detail))
            if progress:
                progress("running answers and their tests", done, len(jobs))
        mutant_jobs = [Job((n, kind), _selftest.problem(ready[n][0]),
                           _selftest.program(_selftest.mutant(str(ready[n][3].solution), kind), str(ready[n][3].tests)))
                       for n in passed for kind in _selftest.MUTANTS]
        outcome: dict[int, dict[str, str]] = {n: {} for n in passed}
        if progress and mutant_jobs:
            progress("running the tests on mutants", 0, len(mutant_jobs))
        for done, (job, verdict) in enumerate(executor.map(mutant_jobs), start=1):
            n, kind = job.key
            outcome[n][kind] = verdict.status.value
            if len(outcome[n]) == len(_selftest.MUTANTS):
                task_id, i, gen, split = ready[n]
                fooled = [k for k in _selftest.MUTANTS if outcome[n][k] == Status.PASSED.value]
                status, detail = Status.PASSED.value, ""
                if fooled:
                    status = Status.INVALID.value
                    detail = ("the tests also pass a wrong program (" + "; ".join(_selftest.MUTANTS[k] for k in fooled)
                              + "): they do not test the solution")
                _put(store, run_id, task_id, i, gen, split, passed[n], status, detail, mutants=outcome[n])
            if progress:
                progress("running the tests on mutants", done, len(mutant_jobs))
    return isolation


def _put(store: Store, run_id: str, task_id: str, index: int, gen: Any, split: _selftest.Split, verdict: Any,
         status: str, detail: str, mutants: dict[str, str] | None = None) -> None:
    program = _selftest.program(split.solution, split.tests) if split.solution and split.tests else None
    meta = {"method": "selftest", "note": split.detail, "solution": split.solution, "tests": split.tests,
            "mutants": mutants or {}}
    store.put_sample(run_id, task_id, index, completion_key=gen.key, program=program, extraction=meta,
                     status=status, detail=detail, cpu_seconds=verdict.cpu_seconds if verdict else None,
                     wall_seconds=verdict.wall_seconds if verdict else None, output=verdict.output if verdict else None,
                     truncated=gen.finish_reason == "length")


# --- choosing rows -------------------------------------------------------------------------------------------

def _pools(samples: _Samples, config: DistillConfig) -> dict[str, list[_Candidate]]:
    """Per problem, the eligible candidates in rank order, each distinct program once."""
    pools: dict[str, list[_Candidate]] = {t: [] for t in samples.order}
    seen: dict[str, set[str]] = {t: set() for t in samples.order}
    ordered = sorted(samples.candidates, key=lambda c: rank(config.seed, c.task_id, c.index))
    for c in ordered:
        if c.task_id not in pools or c.code is None:
            continue
        if config.select == "verified" and c.status != Status.PASSED.value:
            continue
        program = "\n".join(line.rstrip() for line in c.code.strip().splitlines())
        if program in seen[c.task_id]:
            continue
        seen[c.task_id].add(program)
        pools[c.task_id].append(c)
    return pools


def _outputs(pools: dict[str, list[_Candidate]], config: DistillConfig) -> dict[tuple[str, int], str]:
    """What each candidate's row would train on (see :data:`OUTPUT_FORMS`)."""
    flat = [c for pool in pools.values() for c in pool]
    if config.output_form == "program":
        return {(c.task_id, c.index): f"```python\n{str(c.code).strip()}\n```" for c in flat}
    with Store(config.store) as store:
        hits = {(c.task_id, c.index): store.get_completion(str(c.answer_key)) for c in flat}
    return {key: str(hit["text"]).strip() if hit else "" for key, hit in hits.items()}


def _detectors(benches: list[Any], config: DistillConfig) -> dict[str, Any]:
    """The decontamination detectors that ran and their thresholds (none without benchmarks)."""
    if not benches:
        return {}
    from coderank.rigor.contam import decontam_detectors

    return decontam_detectors(config.embeddings)


def _decontaminate(pools: dict[str, list[_Candidate]], outputs: dict[tuple[str, int], str], config: DistillConfig,
                   benches: list[Any], progress: Progress | None) -> dict[tuple[str, int], list[str]]:
    """``{(task id, sample index): leaks}`` for the candidates that match a benchmark problem."""
    flat = [c for pool in pools.values() for c in pool]
    if not flat or not benches:
        return {}
    from coderank.rigor.contam import flag_rows, load_embedder

    embedder = load_embedder() if config.embeddings else None
    texts = [{"instruction": c.instruction + (f"\n\n{c.input}" if c.input.strip() else ""),
              "output": outputs[(c.task_id, c.index)]} for c in flat]
    found = flag_rows(texts, benches, embedder=embedder, progress=progress)
    return {(flat[i].task_id, flat[i].index): leaks for i, leaks in found.items()}


def _choose(pools: dict[str, list[_Candidate]], outputs: dict[tuple[str, int], str],
            leaks: dict[tuple[str, int], list[str]], samples: _Samples, config: DistillConfig,
            match: dict[str, Any] | None
            ) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]], list[dict[str, Any]], list[str]]:
    counts: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for c in samples.candidates:
        counts[c.task_id] += 1
        passed[c.task_id] += c.status == Status.PASSED.value
    rows: list[dict[str, Any]] = []
    per_problem: dict[str, dict[str, int]] = {}
    dropped: list[dict[str, Any]] = []
    lost: list[str] = []
    for task_id in samples.order:
        want = match["rows"].get(task_id, 0) if match is not None else (config.keep or 1)
        clean = []
        for c in pools[task_id]:
            found = leaks.get((c.task_id, c.index))
            if found:
                dropped.append({"task_id": c.task_id, "sample_index": c.index, "leaks": found})
            else:
                clean.append(c)
        chosen = clean[:want]
        if len(chosen) < min(want, len(pools[task_id])):
            lost.append(task_id)
        rows.extend(_row(c, outputs[(c.task_id, c.index)], samples, config) for c in chosen)
        per_problem[task_id] = {"samples": counts[task_id], "passed": passed[task_id],
                                "candidates": len(pools[task_id]), "leaked": len(pools[task_id]) - len(clean),
                                "rows": len(chosen)}
    return rows, per_problem, dropped, lost


def _row(c: _Candidate, output: str, samples: _Samples, config: DistillConfig) -> dict[str, Any]:
    row: dict[str, Any] = {"id": f"{c.task_id}#{c.index}", "instruction": c.instruction}
    if c.input.strip():
        row["input"] = c.input
    row["output"] = output
    row["label"] = samples.label if config.select == "verified" else "unverified"
    row["evidence"] = {"source": samples.source["name"], "task_id": c.task_id, "sample_index": c.index,
                       "verdict": c.status, "tests": samples.tests, "samples_run": samples.run_id,
                       "program_sha256": sha256_text(str(c.code)),
                       **{k: v for k, v in c.evidence.items() if v is not None}}
    return row


def _write_rows(out: Path, rows: list[dict[str, Any]]) -> str:
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    write_atomic(out, data)
    return sha256_bytes(data)


def _manifest(config: DistillConfig, samples: _Samples, match: dict[str, Any] | None, benches: list[Any],
              per_problem: dict[str, dict[str, int]], dropped: list[dict[str, Any]], lost: list[str],
              rows: list[dict[str, Any]],
              out_sha: str) -> DistillManifest:
    statuses = samples.summary.get("status_counts") or {}
    n_samples = sum(statuses.values())
    n_passed = statuses.get(Status.PASSED.value, 0)
    label = samples.label if config.select == "verified" else "unverified"
    return DistillManifest(
        version=MANIFEST_VERSION, kind="distill", coderank_version=coderank.__version__, run_id=None,
        label=label, select=config.select, keep=None if match else (config.keep or 1),
        match={"path": match["path"], "sha256": match["sha256"], "select": match["select"]} if match else None,
        output_form=config.output_form, tests=samples.tests, teacher=samples.teacher,
        source=BenchmarkRef.from_dict(samples.source), k=config.k, seed=config.seed,
        decoding={"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens},
        samples={"run_id": samples.run_id, "kind": samples.kind, "samples": n_samples, "passed": n_passed,
                 "pass_rate": round(n_passed / n_samples, 4) if n_samples else None, "status_counts": statuses,
                 "pass_at_k": samples.summary.get("pass_at_k") or {}},
        per_problem=per_problem,
        decontam={"benchmarks": [{"name": b.name, "sha256": b.sha256} for b in benches],
                  "embeddings": bool(benches) and config.embeddings, "detectors": _detectors(benches, config),
                  "dropped": dropped, "problems_lost": lost},
        sandbox_limits=config.limits.resolved().as_dict(),
        sandbox_isolation=samples.summary.get("isolation") or {},
        output={"path": str(config.out), "rows": len(rows), "sha256": out_sha},
        platform=platform_info(),
        selftest=samples.selftest,
    )


def _summary(config: DistillConfig, samples: _Samples, manifest: DistillManifest, run_id: str, resumed: bool,
             started: float) -> dict[str, Any]:
    per = manifest.per_problem
    s = samples.summary
    return {
        "run_id": run_id, "samples_run": samples.run_id, "resumed": bool(s.get("resumed")),
        "model": config.model, "source": samples.source["name"], "tests": samples.tests, "label": manifest.label,
        "select": config.select, "keep": manifest.keep, "out": str(config.out),
        "manifest_path": str(manifest_path(config.out)), "rows": manifest.output["rows"],
        "out_sha256": manifest.output["sha256"], "problems": len(per),
        "samples": manifest.samples["samples"], "passed": manifest.samples["passed"],
        "pass_rate": manifest.samples["pass_rate"], "status_counts": manifest.samples["status_counts"],
        "pass_at_k": manifest.samples["pass_at_k"],
        "problems_with_pass": sum(1 for p in per.values() if p["passed"]),
        "problems_with_rows": sum(1 for p in per.values() if p["rows"]),
        "leaked": len(manifest.decontam["dropped"]), "truncated": s.get("truncated") or 0,
        "generated": s.get("generated") or 0, "cached": s.get("cached") or 0,
        "generation_seconds": s.get("generation_seconds") or 0.0, "tokens_per_second": s.get("tokens_per_second"),
        "wall_seconds": round(time.monotonic() - started, 2), "isolation": s.get("isolation") or {},
    }
