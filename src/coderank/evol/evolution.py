"""``coderank evol``: evolve code instructions round by round, answer them, keep what survives the checks.

One round, for every instruction in the pool (at first, the seeds):

1. draw an evolution method (:func:`coderank.evol.methods.choose_method`) from a random generator seeded by
   the run seed, the round and the instruction's id — so the draws do not depend on order, concurrency or
   a resume — and ask the model for the evolved instruction;
2. check it (:func:`coderank.evol.filters.check_instruction`);
3. answer each surviving instruction in a call of its own and check the answer
   (:func:`coderank.evol.filters.check_answer`);
4. run the answer's code on its own in the sandbox — module level and its ``__main__`` block, i.e. its own
   examples — and drop it if that raises, times out or dies;
5. decontaminate: the round's surviving rows are compared with each named benchmark by the ``contam``
   detectors and rows flagged as leaks are dropped.

A kept row replaces its parent in the pool, so the next round evolves it further; when an attempt is dropped,
its parent stays in the pool and is tried again (with a fresh draw) in the next round. Every attempt, kept or
dropped with its reason, is stored in the ``evol_rows`` table of the store; every model call goes through the
completion cache, so a run killed at any point (SIGKILL included) resumes by running the same command: the
cached calls are replayed, the checks re-run (they are deterministic), and the output file is written once,
atomically, at the end — nothing lost, nothing duplicated.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import coderank
from coderank.datagen import DECONTAM_DEFAULT as DECONTAM_DEFAULT  # where it was defined before: kept importable
from coderank.datagen import DataGenConfig
from coderank.digest import sha256_bytes, sha256_text
from coderank.errors import UsageError
from coderank.evol import filters
from coderank.evol.methods import (
    METHODS,
    METHODS_VERSION,
    EvolMethod,
    choose_method,
    get_method,
    methods_sha256,
    render_answer_prompt,
)
from coderank.evol.seeds import Seed, bundled_seeds, load_seeds
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.generation import GenStats, cached_generate
from coderank.models.backends import Backend, Request, check_decoding, load_backend, served_by
from coderank.paths import write_atomic
from coderank.record import Record, generated_here, merge_servers, platform_info, with_generated_on
from coderank.store import Store
from coderank.types import Problem, Status

Progress = Callable[[str, int, int], None]  # (phase, done, total)

MANIFEST_VERSION = 1
_ENTRY = "_coderank_program_loaded"
_CHECK = "def check(candidate):\n    assert candidate() is True\n"
_SUFFIX = f"\n\n\ndef {_ENTRY}():\n    return True\n"


@dataclass(frozen=True, kw_only=True)
class EvolManifest(Record):
    """The manifest of an evol run: in the store and beside the data (``DATA.manifest.json``).

    Unknown keys stay in ``extra`` and everything comes back exactly with ``to_dict()`` (see
    :class:`~coderank.record.Record`).

    Attributes:
        version: Layout version (:data:`MANIFEST_VERSION`).
        coderank_version: coderank that made the run.
        model_spec: The model as asked for.
        model: The model's identity.
        seeds: ``source`` (a file, or ``bundled``), ``count``, ``sha256``.
        methods: ``version``, ``sha256``, ``names``, ``weights`` of the evolution methods.
        rounds: Evolution rounds.
        include_seeds: Whether the seeds' own answers are rows too.
        seed: The run seed.
        params: Decoding of the evolution and answer calls, ``max_chars``.
        decontam: ``benchmarks`` (name, sha256) checked against, ``embeddings`` (whether that detector ran),
            ``detectors`` (each detector that ran and its threshold, from
            :func:`coderank.rigor.contam.decontam_detectors`; empty without benchmarks).
        sandbox_limits: The limits the answers' code ran under.
        platform: Python, system, machine, coderank's commit, llama-cpp-python's version.
        run_id: The run (once it has finished).
        output: ``path``, ``rows``, ``sha256`` of the data file (once written).
        report: ``attempts``, ``rounds``, ``dropped``, ``leaked`` (once finished).
        sandbox_isolation: The isolation layers that were active (once finished).
        servers: The server URLs the calls went to when the model's identity does not name them
            (``--served-model``); a run resumed on other servers adds theirs.
        generated_on: Where a resumed run's local model generated on another processor or llama.cpp build than
            ``platform``'s, where it started (as :attr:`coderank.record.RunManifest.generated_on`).
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"run_id", "output", "report", "sandbox_isolation", "servers",
                                                    "generated_on"})

    version: int | None = None
    coderank_version: str | None = None
    model_spec: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)
    rounds: int | None = None
    include_seeds: bool | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    decontam: dict[str, Any] = field(default_factory=dict)
    sandbox_limits: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    output: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    sandbox_isolation: dict[str, Any] | None = None
    servers: list[str] | None = None
    generated_on: list[dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class EvolConfig(DataGenConfig):
    """Everything that decides an evolution run.

    Beside the options it shares with ``distill`` (:class:`~coderank.datagen.DataGenConfig`: ``out``, ``model``,
    ``temperature``, ``top_p``, ``seed``, ``limit``, ``decontam``, ``embeddings``, ``workers``, ``backend``,
    ``store``), which here mean: ``temperature`` and ``top_p`` are the evolution calls' sampling, ``seed`` seeds the
    method draws and the sampling of every call, and ``limit`` takes the first N seeds.

    Attributes:
        seeds: Seed file (our JSONL, Alpaca JSONL or an Alpaca JSON array); None for the bundled seeds.
        rounds: Evolution rounds.
        include_seeds: Also answer the seeds themselves and keep them as round-0 rows (method ``seed``), as
            WizardCoder trained on its seed data together with the evolved data.
        methods: Names of the methods to draw from (empty: all, with their weights).
        answer_temperature: Sampling temperature of the answer calls (0: greedy).
        max_tokens: Token limit of an evolution call; one cut off there is dropped as ``overlong``.
        answer_max_tokens: Token limit of an answer call; one cut off there is dropped as ``answer-truncated``.
        max_chars: Longest evolved instruction kept, in characters.
        limits: Sandbox limits for running the answers' code.
    """

    seeds: Path | None = None
    rounds: int = 1
    include_seeds: bool = False
    methods: tuple[str, ...] = ()
    answer_temperature: float = 0.0
    max_tokens: int = 384
    answer_max_tokens: int = 768
    max_chars: int = 2000
    limits: Limits = field(default_factory=lambda: Limits(cpu_seconds=5.0))


@dataclass(frozen=True, kw_only=True)
class EvolResult(Record):
    """The outcome of :func:`evolve`; ``to_json()`` is the document ``coderank evol --json`` prints.

    The run's stored summary is this document less ``manifest``. Keys this version does not type stay in
    ``extra`` (see :class:`~coderank.record.Record`).

    Attributes:
        run_id: The evol run in the store.
        resumed: The call went on with a run that an earlier call left unfinished.
        model: The model spec.
        out: The data file.
        manifest_path: The manifest beside it.
        rows: Rows written.
        out_sha256: The data file's hash.
        attempts: Evolution attempts over all rounds.
        rounds: Per round: ``round``, ``attempts``, ``kept``, ``dropped`` (reason -> attempts), ``methods``,
            ``kept_by_method``, ``seconds``.
        dropped: Reason -> attempts dropped for it, over all rounds.
        leaked: Rows dropped by decontamination.
        generated: Model calls this call made.
        cached: Model calls taken from the completion cache.
        generation_seconds: Time this call spent generating.
        tokens_per_second: Generation speed of this call (None when it generated nothing).
        wall_seconds: This call's time in all.
        isolation: The sandbox isolation layers that were active.
        manifest: The run's manifest (``DATA.manifest.json``).
    """

    run_id: str = ""
    resumed: bool = False
    model: str = ""
    out: str = ""
    manifest_path: str = ""
    rows: int = 0
    out_sha256: str = ""
    attempts: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    leaked: int = 0
    generated: int = 0
    cached: int = 0
    generation_seconds: float = 0.0
    tokens_per_second: float | None = None
    wall_seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    manifest: EvolManifest = field(default_factory=EvolManifest)

    def to_json(self) -> dict[str, Any]:
        """The result as the JSON document it is printed as."""
        return self.to_dict()


@dataclass(frozen=True)
class _Item:
    """An instruction in the pool: a seed, or the latest kept evolution of one."""

    id: str
    text: str
    seed_id: str
    round: int
    source: str


def _seed_list(config: EvolConfig) -> tuple[list[Seed], str]:
    seeds = bundled_seeds() if config.seeds is None else load_seeds(config.seeds)
    if config.limit is not None:
        if config.limit < 1:
            raise UsageError(f"--limit must be at least 1, got {config.limit}")
        seeds = seeds[:config.limit]
    blob = json.dumps([asdict(s) for s in seeds], sort_keys=True, ensure_ascii=False)
    return seeds, sha256_text(blob)


def _methods(config: EvolConfig) -> list[EvolMethod]:
    return [get_method(n) for n in config.methods] if config.methods else list(METHODS.values())


def _check_config(config: EvolConfig) -> None:
    check_decoding(config.temperature, config.top_p)
    check_decoding(config.answer_temperature, option="--answer-temperature")
    if config.rounds < 1:
        raise UsageError(f"--rounds must be at least 1, got {config.rounds}")
    for name, value in (("--max-tokens", config.max_tokens), ("--answer-max-tokens", config.answer_max_tokens),
                        ("--max-chars", config.max_chars)):
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    if config.out.suffix != ".jsonl":
        raise UsageError(f"--out {config.out}: the output is JSON Lines", "give a file name ending in .jsonl")


def manifest_path(out: Path) -> Path:
    """Where the manifest of an output file goes: ``DATA.jsonl`` -> ``DATA.manifest.json``."""
    return out.with_name(out.name[:-len(".jsonl")] + ".manifest.json" if out.name.endswith(".jsonl")
                         else out.name + ".manifest.json")


def evolve(config: EvolConfig, progress: Progress | None = None) -> EvolResult:
    """Run (or resume) an evolution and write its JSONL output and manifest.

    Returns:
        What it made (:class:`EvolResult`): run id, rounds (kept / dropped by reason), rows written, output paths,
        timings, and the ``manifest``.

    Raises:
        UsageError: bad options (unknown method or benchmark, bad numbers).
        InputError: the seed file cannot be read.
        CoderankError: the model cannot be loaded or the server keeps failing (the run stays resumable).
    """
    _check_config(config)
    seeds, seeds_sha = _seed_list(config)
    methods = _methods(config)
    benches = _benchmarks(config.decontam)
    detectors: dict[str, Any] = {}
    if benches:
        from coderank.rigor.contam import decontam_detectors, ensure_detectors

        ensure_detectors(config.embeddings)
        detectors = decontam_detectors(config.embeddings)
    embedder = _embedder(config) if benches else None
    store = Store(config.store)
    backend = load_backend(config.model, config.backend)
    started = time.monotonic()
    try:
        params = {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens,
                  "answer_temperature": config.answer_temperature, "answer_max_tokens": config.answer_max_tokens,
                  "max_chars": config.max_chars}
        sandbox = config.limits.resolved().as_dict()
        model_id, methods_hash = backend.identity(), methods_sha256(methods)
        identity = {
            "kind": "evol", "model": model_id, "seeds": seeds_sha, "rounds": config.rounds,
            "include_seeds": config.include_seeds,
            "seed": config.seed, "methods": methods_hash, "params": params,
            "decontam": [(b.name, b.sha256) for b in benches], "embeddings": bool(benches) and config.embeddings,
            "detectors": detectors, "sandbox": sandbox,
        }
        manifest = EvolManifest(
            version=MANIFEST_VERSION,
            coderank_version=coderank.__version__,
            model_spec=config.model,
            model=model_id,
            seeds={"source": str(config.seeds) if config.seeds else "bundled", "count": len(seeds),
                   "sha256": seeds_sha},
            methods={"version": METHODS_VERSION, "sha256": methods_hash,
                     "names": [m.name for m in methods], "weights": {m.name: m.weight for m in methods}},
            rounds=config.rounds,
            include_seeds=config.include_seeds,
            seed=config.seed,
            params=params,
            decontam={"benchmarks": [{"name": b.name, "sha256": b.sha256} for b in benches],
                      "embeddings": identity["embeddings"], "detectors": detectors},
            sandbox_limits=sandbox,
            platform=platform_info(),
            servers=served_by(backend),
        )
        run_id, resumed = store.open_run(identity, manifest, kind="evol", model=config.model, benchmark="evol")
        found = store.find_run(run_id) if resumed else None
        before = found.manifest if found is not None else None
        if before:  # resumed: where it started, and the servers and processors it generated on before
            manifest = replace(manifest, platform=before.get("platform") or manifest.platform,
                               generated_on=before.get("generated_on"),
                               servers=merge_servers(before.get("servers"), manifest.servers)
                               if manifest.servers else None)
        runner = _Runner(config, store, backend, run_id, methods, benches, embedder, progress)
        pool = [_Item(s.id, s.text, s.id, 0, s.source) for s in seeds]
        kept: list[dict[str, Any]] = runner.seed_round(pool) if config.include_seeds else []
        for r in range(1, config.rounds + 1):
            pool, new_rows = runner.round(r, pool)
            kept.extend(new_rows)
    finally:
        backend.close()
    out_sha = _write_output(config.out, kept)
    stats = runner.stats
    rounds = runner.reports
    summary = {
        "run_id": run_id, "resumed": resumed, "model": config.model, "out": str(config.out),
        "manifest_path": str(manifest_path(config.out)), "rows": len(kept), "out_sha256": out_sha,
        "attempts": sum(x["attempts"] for x in rounds), "rounds": rounds,
        "dropped": dict(sum((Counter(x["dropped"]) for x in rounds), Counter())),
        "leaked": sum(x["dropped"].get("leaked", 0) for x in rounds),
        "generated": stats.generated, "cached": stats.cached,
        "generation_seconds": round(stats.seconds, 2),
        "tokens_per_second": round(stats.tokens / stats.seconds, 1) if stats.seconds else None,
        "wall_seconds": round(time.monotonic() - started, 2),
        "isolation": runner.isolation,
    }
    manifest = replace(manifest, run_id=run_id,
                       generated_on=with_generated_on(manifest.platform, manifest.generated_on,
                                                      generated_here(manifest.model, stats.generated)),
                       output={"path": str(config.out), "rows": len(kept), "sha256": out_sha},
                       report={k: summary[k] for k in ("attempts", "rounds", "dropped", "leaked")},
                       sandbox_isolation=runner.isolation)
    store.finish_run(run_id, summary, manifest)
    store.close()
    doc = manifest.to_dict()
    _write_json(manifest_path(config.out), doc)
    summary["manifest"] = doc
    return EvolResult.from_dict(summary)


def _benchmarks(names: tuple[str, ...]) -> list[Any]:
    from coderank.problems import load_benchmark

    return [load_benchmark(n) for n in dict.fromkeys(names)]


def _embedder(config: EvolConfig) -> Any:
    if not config.embeddings:
        return None
    from coderank.rigor.contam import load_embedder

    return load_embedder()


class _Runner:
    """The rounds of one run (state shared by the rounds: store, backend, sandbox, detectors)."""

    def __init__(self, config: EvolConfig, store: Store, backend: Backend, run_id: str, methods: list[EvolMethod],
                 benches: list[Any], embedder: Any, progress: Progress | None) -> None:
        self.config, self.store, self.backend, self.run_id = config, store, backend, run_id
        self.methods, self.benches, self.embedder, self.progress = methods, benches, embedder, progress
        self.stats = GenStats()
        self.reports: list[dict[str, Any]] = []
        self.isolation: dict[str, str] = {}

    def _req(self, prompt: str, *, temperature: float, top_p: float, max_tokens: int, seed: int) -> Request:
        return Request(kind="chat", text=None, messages=(("user", prompt),), max_tokens=max_tokens,
                       temperature=temperature, top_p=top_p if temperature > 0 else 1.0, stop=(), seed=seed)

    def round(self, r: int, pool: list[_Item]) -> tuple[list[_Item], list[dict[str, Any]]]:
        """Evolve every pool item once; return the next pool and the rows kept."""
        cfg = self.config
        t0 = time.monotonic()
        rows: list[dict[str, Any]] = []
        requests = []
        for item in pool:
            rng = random.Random(f"evol:{cfg.seed}:{r}:{item.id}")
            method = choose_method(rng, self.methods)
            rows.append({"id": f"{item.seed_id}~r{r}", "round": r, "parent_id": item.id, "seed_id": item.seed_id,
                         "source": item.source, "method": method.name, "parent": item.text})
            requests.append(self._req(method.render(item.text), temperature=cfg.temperature, top_p=cfg.top_p,
                                      max_tokens=cfg.max_tokens, seed=rng.randrange(2**31)))
        evolved = cached_generate(self.store, self.backend, requests, [{"purpose": "evol"}] * len(requests),
                                  progress=self.progress, phase=f"round {r}: evolving", stats=self.stats)
        answer_rows: list[dict[str, Any]] = []
        for row, gen in zip(rows, evolved, strict=True):
            row["instruction"] = filters.clean_instruction(gen.text)
            row["evol_key"] = gen.key
            drop = filters.check_instruction(row["instruction"], row["parent"],
                                             truncated=gen.finish_reason == "length", max_chars=cfg.max_chars,
                                             method=row["method"])
            if drop:
                _drop(row, drop)
            else:
                answer_rows.append(row)
        survivors = self._answer_and_check(r, answer_rows)
        self.store.put_evol_rows(self.run_id, [_stored(row) for row in rows])
        kept_ids = {row["id"] for row in survivors}
        next_pool = []
        for item, row in zip(pool, rows, strict=True):
            if row["id"] in kept_ids:
                next_pool.append(_Item(row["id"], row["instruction"], item.seed_id, r, item.source))
            else:
                next_pool.append(item)  # a failed attempt: the parent goes back to the pool
        self._report(r, rows, survivors, t0)
        return next_pool, [_output_row(row) for row in rows if row.get("kept")]

    def seed_round(self, pool: list[_Item]) -> list[dict[str, Any]]:
        """Round 0 (``--include-seeds``): answer the seeds themselves, with the same checks; return the rows kept.

        WizardCoder trained on the seed data together with its evolutions; these rows carry ``round`` 0 and
        ``method`` ``seed``. The pool is unchanged: round 1 evolves the seeds.
        """
        t0 = time.monotonic()
        rows = [{"id": f"{item.seed_id}~r0", "round": 0, "parent_id": "", "seed_id": item.seed_id,
                 "source": item.source, "method": "seed", "instruction": item.text} for item in pool]
        survivors = self._answer_and_check(0, rows)
        self.store.put_evol_rows(self.run_id, [_stored(row) for row in rows])
        self._report(0, rows, survivors, t0)
        return [_output_row(row) for row in rows if row.get("kept")]

    def _answer_and_check(self, r: int, answer_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answer each instruction in its own call, check the answer, run its code, decontaminate."""
        cfg = self.config
        answer_reqs = [self._req(render_answer_prompt(row["instruction"]), temperature=cfg.answer_temperature,
                                 top_p=cfg.top_p, max_tokens=cfg.answer_max_tokens,
                                 seed=random.Random(f"answer:{cfg.seed}:{row['id']}").randrange(2**31))
                       for row in answer_rows]
        answers = cached_generate(self.store, self.backend, answer_reqs,
                                  [{"purpose": "evol-answer"}] * len(answer_reqs), progress=self.progress,
                                  phase=f"round {r}: answering", stats=self.stats)
        code_rows: list[tuple[dict[str, Any], str]] = []
        for row, gen in zip(answer_rows, answers, strict=True):
            row["output"] = gen.text.strip()
            row["answer_key"] = gen.key
            code, drop = filters.check_answer(gen.text, truncated=gen.finish_reason == "length")
            if drop:
                _drop(row, drop)
            else:
                assert code is not None
                code_rows.append((row, code))
        survivors = self._decontaminate(r, self._sandbox(r, code_rows))
        for row in survivors:
            row["kept"], row["reason"], row["detail"] = True, None, None
        return survivors

    def _report(self, r: int, rows: list[dict[str, Any]], survivors: list[dict[str, Any]], t0: float) -> None:
        dropped = Counter(row["reason"] for row in rows if not row.get("kept"))
        self.reports.append({"round": r, "attempts": len(rows), "kept": len(survivors),
                             "dropped": {k: dropped[k] for k in filters.REASONS if dropped[k]},
                             "methods": dict(Counter(row["method"] for row in rows)),
                             "kept_by_method": dict(Counter(row["method"] for row in survivors)),
                             "seconds": round(time.monotonic() - t0, 2)})

    def _sandbox(self, r: int, code_rows: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
        if not code_rows:
            return []
        jobs = [Job(row["id"], Problem(task_id=row["id"], prompt="", entry_point=_ENTRY, test=_CHECK),
                    '__name__ = "__main__"\n' + code + _SUFFIX) for row, code in code_rows]
        by_id = {row["id"]: row for row, _ in code_rows}
        phase = f"round {r}: running code"
        if self.progress:
            self.progress(phase, 0, len(jobs))
        ok: set[str] = set()
        with Executor(workers=self.config.workers, limits=self.config.limits) as executor:
            self.isolation = executor.isolation
            for n, (job, verdict) in enumerate(executor.map(jobs), start=1):
                if verdict.status is Status.PASSED:
                    ok.add(job.key)
                else:
                    detail = verdict.detail.replace(f"the program defines no function {_ENTRY!r}", "")
                    _drop(by_id[job.key], filters.Drop("crash", f"{verdict.status.value}: {detail}"[:300]))
                if self.progress:
                    self.progress(phase, n, len(jobs))
        return [row for row, _ in code_rows if row["id"] in ok]

    def _decontaminate(self, r: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows or not self.benches:
            return rows
        from coderank.rigor.contam import flag_rows

        leaks = flag_rows([{"instruction": row["instruction"], "output": row["output"]} for row in rows],
                          self.benches, embedder=self.embedder, progress=self.progress,
                          stage=f"round {r}: decontaminating")
        for index, found in leaks.items():
            _drop(rows[index], filters.Drop("leaked", "; ".join(found)[:300]))
        return [row for i, row in enumerate(rows) if i not in leaks]

def _drop(row: dict[str, Any], drop: filters.Drop) -> None:
    row["kept"], row["reason"], row["detail"] = False, drop.reason, drop.detail


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "round": row["round"], "parent_id": row["parent_id"], "seed_id": row["seed_id"],
            "source": row["source"], "method": row["method"], "instruction": row.get("instruction", ""),
            "output": row.get("output"), "kept": bool(row.get("kept")), "reason": row.get("reason"),
            "detail": row.get("detail"), "evol_key": row.get("evol_key"), "answer_key": row.get("answer_key")}


def _output_row(row: dict[str, Any]) -> dict[str, Any]:
    """One training row: what the issue and the ``datasets`` JSON loader need, and where it came from."""
    return {"id": row["id"], "instruction": row["instruction"], "output": row["output"], "round": row["round"],
            "method": row["method"], "parent_id": row["parent_id"], "seed_id": row["seed_id"],
            "source": row["source"]}


def _write_output(out: Path, rows: list[dict[str, Any]]) -> str:
    """Write the rows atomically; return the file's sha256."""
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    write_atomic(out, data)
    return sha256_bytes(data)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
