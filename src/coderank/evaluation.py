"""``coderank eval``: generate, extract, execute, score, and keep everything in the store.

The run is resumable at every step: a completion is cached the moment it is generated and a verdict the
moment it is decided, both keyed so that a second write replaces instead of duplicating. Re-running the
same command after a crash (or a SIGKILL) generates only what is missing; re-running a finished run
generates nothing, re-executes nothing and changes nothing in its record.

Sandbox limits decide verdicts (a timeout under 3 s of CPU may pass under 10 s), so limits other than the
defaults are part of a run's identity: the same command with ``--timeout 10`` is another run, with its own
id, and its completions come from the cache. ``rescore`` does the same from a stored run alone (no model):
:func:`rescore`.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coderank.errors import CoderankError, Terminated, UsageError
from coderank.execution.pool import Job, check_workers, open_pool
from coderank.execution.ray_pool import check_address
from coderank.execution.sandbox import Limits
from coderank.generation import GenStats, cached_generate
from coderank.models import loops
from coderank.models.backends import Backend, BackendOptions, Request, check_decoding, load_backend, served_by
from coderank.models.extract import ECHO_SHARE
from coderank.paths import check_output_folder
from coderank.problems import Benchmark, load_benchmark
from coderank.record import (
    BenchmarkRef,
    PassAtK,
    Record,
    RunManifest,
    RunSummary,
    TemplateRef,
    generated_here,
    pass_at_k,
)
from coderank.store import SCORED, RunInfo, Store
from coderank.types import Problem, Status

Progress = Callable[[str, int, int], None]  # (phase, done, total)

DEFAULT_MAX_TOKENS = 512
"""The token limit when neither ``--max-tokens`` nor the problems give one (HumanEval answers take ~200)."""

TRUNCATION_NOTE_SHARE = 0.1
"""At or above this share of truncated samples a run says that its problems need a larger token limit."""

@dataclass(frozen=True)
class EvalConfig:
    """One evaluation.

    Attributes:
        model: Model spec (``default``, ``gemma-270m``, ``gguf:PATH``, ``openai:MODEL``).
        benchmark: Benchmark name or problem file.
        n: Samples per problem.
        temperature: Sampling temperature (0 = greedy).
        top_p: Nucleus sampling.
        max_tokens: Generation limit per sample; hitting it is recorded as truncation. None: the largest
            ``max_tokens`` the run's problems give (a problem file's field), else :data:`DEFAULT_MAX_TOKENS`.
        seed: Base seed; sample i of every problem uses seed + i.
        limit: Only the first ``limit`` problems.
        tasks: Only these task ids.
        template: Prompt template name or Jinja file; None picks :func:`default_template` (``chat`` for instruct
            models, ``completion`` for the embedded base model ``gemma-270m``).
        backend: Backend options (base URL, concurrency, ...).
        limits: Sandbox limits; limits other than the defaults are part of the run's identity (another run).
        workers: Sandbox workers.
        store: Database path (None: the default).
        out: Also write the run to this folder (manifest.json, summary.json, samples.jsonl).
        name: Display name of the run (in ``runs``, ``show``, ``board``); no part of its identity.
        stop_loops: Stop an answer at its first degenerate loop (the same few lines repeating, see
            :mod:`coderank.models.loops`) and cut the loop off. Part of the run's identity when set.
        ray: Run the programs on this Ray cluster (``HOST:PORT``, ``auto``, ``local``; ``workers`` is then per
            node); generation and the store stay here. Recorded in the manifest (``execution``), no part of the
            run's identity.
    """

    model: str = "default"
    benchmark: str = "humaneval"
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int | None = None
    seed: int = 0
    limit: int | None = None
    tasks: tuple[str, ...] = ()
    template: str | None = None
    backend: BackendOptions = field(default_factory=BackendOptions)
    limits: Limits = field(default_factory=Limits)
    workers: int | None = None
    store: Path | None = None
    out: Path | None = None
    name: str | None = None
    ray: str | None = None
    stop_loops: bool = False


@dataclass(frozen=True, kw_only=True)
class EvalResult(RunSummary):
    """The outcome of :func:`evaluate`: the run's summary (its score) and what this call did.

    ``to_json()`` is the document ``coderank eval --json`` prints (less ``per_problem``), key for key: the summary
    of a run that finished before is the stored one, whatever version of coderank stored it, and keys that this
    version does not type stay in ``extra`` (see :class:`~coderank.record.Record`). The score's attributes are
    :class:`~coderank.record.RunSummary`'s (``pass_at_k``, ``pass_at_1``, ``samples``, ``status_counts``, ...).

    Attributes:
        run_id: The run in the store.
        resumed: This call went on with a run that an earlier call left unfinished.
        already_finished: The run had finished before this call: it is returned as it was stored, and nothing was
            generated, executed or rewritten.
        model: The model spec of the run.
        benchmark: The benchmark's name.
        generated: Completions this call generated.
        cached: Completions this call took from the completion cache.
        generation_seconds: Time this call spent generating (None where a run's summary does not say).
        tokens_per_second: Generation speed of this call (None when it generated nothing).
        wall_seconds: This call's time in all.
        isolation: The sandbox isolation layers that were active (empty when nothing ran).
        max_tokens: The run's token limit.
        max_tokens_from: Where it came from: ``option``, ``problems`` or ``default``.
        token_limit_note: What to do when many samples hit the token limit (None when few did).
        manifest: The run's manifest as stored.
        name: The run's display name (None: it has none).
    """

    run_id: str = ""
    resumed: bool = False
    already_finished: bool = False
    model: str = ""
    benchmark: str = ""
    generated: int = 0
    cached: int = 0
    generation_seconds: float | None = None
    tokens_per_second: float | None = None
    wall_seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    max_tokens_from: str | None = None
    token_limit_note: str | None = None
    manifest: RunManifest = field(default_factory=RunManifest)
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as the JSON document it is printed as (with ``per_problem``)."""
        return self.to_dict()


def check_name(name: str | None) -> None:
    """Refuse a blank run name.

    Raises:
        UsageError: the name is empty or only spaces.
    """
    if name is not None and not name.strip():
        raise UsageError("--name is blank", "give the run a name with a visible character, or leave --name out")


@contextlib.contextmanager
def recording(store: Store, run_id: str) -> Iterator[None]:
    """Record in the store why an unfinished run stops, if it stops: ``interrupted`` or ``failed``, and why.

    Inside, SIGTERM (in the main thread) raises :class:`~coderank.errors.Terminated` instead of ending the process
    on the spot, so that the run says it was terminated and the sandbox workers are cleaned up. A run the process
    could not record (``kill -9``) reads as interrupted once its process is gone (:class:`~coderank.store.Store`).
    """
    previous: Any = None
    main = threading.current_thread() is threading.main_thread()
    if main:
        def _terminate(signum: int, frame: Any) -> None:
            raise Terminated()

        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, Terminated):
            status, why = "interrupted", "terminated (SIGTERM)"
        elif isinstance(exc, KeyboardInterrupt):
            status, why = "interrupted", "interrupted (Ctrl-C)"
        else:
            message = exc.message if isinstance(exc, CoderankError) else str(exc)
            status, why = "failed", f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        with contextlib.suppress(Exception):  # never hide the real error behind one of recording it
            store.stop_run(run_id, status, why)
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def open_eval_run(store: Store, identity: dict[str, Any], manifest: RunManifest, limits: Limits, *,
                  kind: str, model: str, benchmark: str) -> tuple[str, bool]:
    """Open (create or find again) the run of ``identity`` under sandbox ``limits``.

    Limits other than the defaults are part of the identity, so the same evaluation under other limits is
    another run. Runs recorded before that (whose id is the hash of the identity alone) keep their ids: such a
    run is found again when the CPU and wall limits it recorded are the ones asked for and the other limits are
    the defaults (the only ones ``eval`` could ask for then); one recorded under other limits is left alone.
    """
    asked = limits.with_wall()
    plain = Store.run_id_of(identity)
    with_limits = Store.run_id_of({**identity, "sandbox_limits": asked.as_dict()})
    args: dict[str, Any] = {"kind": kind, "model": model, "benchmark": benchmark}
    if store.find_run(with_limits) is not None:
        return store.open_run(identity, manifest, run_id=with_limits, **args)
    default = Limits().with_wall()
    old = store.find_run(plain)
    if old is not None:
        kept = old.run_manifest.sandbox_limits
        now = manifest.sandbox_limits
        same_time = all(kept.get(k) == now[k] for k in ("cpu_seconds", "wall_seconds"))
        rest_default = replace(asked, cpu_seconds=default.cpu_seconds, wall_seconds=default.wall_seconds) == default
        if same_time and rest_default:
            return store.open_run(identity, manifest, run_id=plain, **args)
    return store.open_run(identity, manifest, run_id=plain if asked == default and old is None else with_limits,
                          **args)


def _finished_result(store: Store, run: RunInfo, problems: list[Problem], started: float) -> dict[str, Any]:
    """A finished run's summary as it is in the store, with what this call did: nothing generated or executed.

    The store keeps the summary as it was when the run finished (with its own ``generated``, ``cached`` and
    times); only the returned copy says what this call did.
    """
    result = dict(run.summary) if run.summary else run_summary(store, run.run_id, problems,
                                                               seed=run.run_manifest.interval_seed)
    result.update({"run_id": run.run_id, "resumed": False, "already_finished": True, "manifest": run.manifest,
                   "generated": 0, "cached": 0, "generation_seconds": 0.0, "tokens_per_second": None,
                   "wall_seconds": round(time.monotonic() - started, 2)})
    if "re_executed" in result:
        result.update(re_executed=0, copied=0)
    return result


def write_run_dir(out: Path, run_ref: str, store_path: Path | None = None) -> None:
    """Write a run to a folder: ``manifest.json``, ``summary.json`` and ``samples.jsonl``.

    ``samples.jsonl`` has one line per sample: task_id, sample_index, status, detail, the raw model answer,
    its finish reason, the extracted program, how it was extracted, and whether it was truncated.
    """
    import json

    out.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    try:
        run = store.get_run(run_ref)
        (out / "manifest.json").write_text(json.dumps(run.manifest, indent=2, ensure_ascii=False) + "\n")
        (out / "summary.json").write_text(json.dumps(run.summary, indent=2, ensure_ascii=False) + "\n")
        with (out / "samples.jsonl").open("w", encoding="utf-8") as fh:
            for row in store.samples(run.run_id):
                comp = store.get_completion(row.completion_key) if row.completion_key else None
                fh.write(json.dumps({
                    "task_id": row.task_id, "sample_index": row.sample_index, "status": row.status,
                    "detail": row.detail, "answer": comp["text"] if comp else None,
                    "finish_reason": comp["finish_reason"] if comp else None, "program": row.program,
                    "extraction": row.extraction, "truncated": row.truncated,
                }, ensure_ascii=False) + "\n")
    finally:
        store.close()


def select_problems(bench: Benchmark, limit: int | None, tasks: tuple[str, ...]) -> list[Problem]:
    """The problems a run covers, in benchmark order.

    Raises:
        UsageError: an unknown task id or a bad limit.
    """
    problems = list(bench)
    if tasks:
        unknown = [t for t in tasks if t not in bench.problems]
        if unknown:
            raise UsageError(f"unknown task id(s) for {bench.name}: {', '.join(unknown[:5])}",
                             f"ids look like {next(iter(bench.problems))}")
        wanted = set(tasks)
        problems = [p for p in problems if p.task_id in wanted]
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        problems = problems[:limit]
    return problems


def token_limit(max_tokens: int | None, problems: list[Problem]) -> tuple[int, str]:
    """A run's token limit and where it came from: ``option``, ``problems`` or ``default``.

    A problem can say how many tokens its answers may need (``max_tokens`` in a problem file); a run without
    ``--max-tokens`` takes the largest such value of its problems, so one long problem is not cut short. The
    limit is not derived from the length of the statement: an answer need not repeat it, and a model that does
    is echoing, which the summary counts (:func:`run_summary`).
    """
    if max_tokens is not None:
        return max_tokens, "option"
    hints = [p.metadata["max_tokens"] for p in problems if isinstance(p.metadata.get("max_tokens"), int)]
    return (max(hints), "problems") if hints else (DEFAULT_MAX_TOKENS, "default")


def default_template(model: str) -> str:
    """The prompt template a model spec gets when none is given.

    An embedded model's own (``completion`` for the base model ``gemma-270m``); for ``lora:DIR`` and ``hf:DIR``
    written by ``coderank train``, the template its manifest names (``alpaca`` after ``--prompt-format
    alpaca``, the default for gemma-270m); else ``chat`` (the model's own chat template, right for instruct
    models).
    """
    from coderank.models import embedded

    known = embedded.get(model)
    if known is not None:
        return known.template
    if model.startswith(("lora:", "hf:")):
        trained = _trained_template(Path(model.split(":", 1)[1]).expanduser())
        if trained is not None:
            return trained
    return "chat"


def _trained_template(folder: Path) -> str | None:
    """The eval template a ``coderank train`` output folder records; None for any other folder.

    A checkpoint inside one (``OUT/checkpoints/checkpoint-N``, what its dev-set choice evaluates) was trained in
    the same format: its training's manifest answers for it.
    """
    import json

    from coderank.models import prompts

    manifest = folder / "manifest.json"
    if not manifest.is_file() and folder.parent.name == "checkpoints":
        manifest = folder.parent.parent / "manifest.json"
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fmt = doc.get("prompt_format") if isinstance(doc, dict) else None
    name = fmt.get("eval_template") if isinstance(fmt, dict) else None
    return name if isinstance(name, str) and name in prompts.names() else None


def _template(config: EvalConfig) -> Any:
    from coderank.models import prompts

    # a name, or the path of a Jinja file
    return prompts.get_template(config.template or default_template(config.model))


def _check_chat_template(backend: Backend, template: Any, config: EvalConfig) -> None:
    """Refuse chat prompts for a local GGUF that has no chat template (a base model such as ``gemma-270m``).

    llama.cpp would otherwise format the messages in a made-up chat format (llama-2's) and the score would
    measure the format, not the model.

    Raises:
        UsageError: naming the template options that fit a base model.
    """
    ident = backend.identity()
    if template.kind == "chat" and ident.get("backend") == "llama.cpp" and not ident.get("chat_template_sha256"):
        raise UsageError(f"{config.model} has no chat template of its own (a base model), so the {template.name} "
                         "template cannot be used with it",
                         "use --prompt-template completion (base models continue the prompt), or alpaca "
                         "for a model fine-tuned with coderank train --prompt-format alpaca")


def evaluate(config: EvalConfig, progress: Progress | None = None) -> EvalResult:
    """Run (or resume) an evaluation and return its summary.

    A finished run is returned as it was stored (``already_finished``): nothing is generated, executed or
    rewritten. A run that stops on an error, Ctrl-C or SIGTERM is recorded as failed or interrupted, and the same
    call resumes it.

    Raises:
        UsageError: bad options.
        CoderankError: the model cannot be loaded or the server keeps failing (the run stays resumable).
    """
    check_name(config.name)
    if config.n < 1:
        raise UsageError(f"--samples must be at least 1, got {config.n}")
    if config.max_tokens is not None and config.max_tokens < 1:
        raise UsageError(f"--max-tokens must be at least 1, got {config.max_tokens}")
    check_decoding(config.temperature, config.top_p)
    check_workers(config.workers, per_node=config.ray is not None)
    check_address(config.ray)
    if config.out is not None:
        check_output_folder(config.out, "the run is written to a folder (manifest, summary, samples)")
    if config.temperature == 0 and config.n > 1:
        raise UsageError("n > 1 with temperature 0 repeats the same greedy sample",
                         "use --temperature 0.8 (for example) to estimate pass@k with k > 1")
    bench = load_benchmark(config.benchmark)
    problems = select_problems(bench, config.limit, config.tasks)
    max_tokens, max_tokens_from = token_limit(config.max_tokens, problems)
    template = _template(config).used_for(problems)
    for problem in problems:  # a template that fails on a problem fails now, before a run is recorded
        template.render(problem)
    store = Store(config.store)
    backend: Backend = load_backend(config.model, config.backend)
    started = time.monotonic()
    try:
        _check_chat_template(backend, template, config)
        params: dict[str, Any] = {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": max_tokens,
                                  **({"stop_loops": True} if config.stop_loops else {})}
        identity = {
            "model": backend.identity(), "benchmark": bench.sha256, "tasks": [p.task_id for p in problems],
            "template": template.sha256, "params": params, "seed": config.seed, "n": config.n,
        }
        manifest = RunManifest.create(
            model_spec=config.model, model=backend.identity(),
            benchmark=BenchmarkRef.of_benchmark(bench, len(problems)),
            template=TemplateRef(name=template.name, kind=template.kind, sha256=template.sha256),
            params=params, max_tokens_from=max_tokens_from, seed=config.seed, n=config.n,
            sandbox_limits=config.limits.resolved().as_dict(), servers=served_by(backend))
        run_id, resumed = open_eval_run(store, identity, manifest, config.limits, kind="eval", model=config.model,
                                        benchmark=bench.name)
        if config.name is not None:
            store.set_name(run_id, config.name)
        run = store.find_run(run_id)
        assert run is not None
        if run.status == "finished":  # its record is final: shown as it is, nothing generated, run or rewritten
            result = _finished_result(store, run, problems, started)
        else:
            with recording(store, run_id):
                result = _run_eval(store, run_id, resumed, backend, template, problems, config, max_tokens,
                                   max_tokens_from, run.run_manifest, started, progress)
        if config.name or run.name:
            result["name"] = config.name or run.name
    finally:
        backend.close()
        store.close()
    if config.out is not None:
        write_run_dir(config.out, run_id, config.store)
    return EvalResult.from_dict(result)


def _run_eval(store: Store, run_id: str, resumed: bool, backend: Backend, template: Any, problems: list[Problem],
              config: EvalConfig, max_tokens: int, max_tokens_from: str, manifest: RunManifest, started: float,
              progress: Progress | None) -> dict[str, Any]:
    """Generate what is missing, execute it, and finish the run; return its summary (with its stored manifest)."""
    from coderank.models.extract import extract_program

    done = store.done_keys(run_id)
    todo = [(p, i) for p in problems for i in range(config.n) if (p.task_id, i) not in done]
    gen_stats = _generate(store, backend, template, todo, config, max_tokens, progress)
    isolation, engine = _execute(store, run_id, todo, gen_stats["completions"], template.extract, config.limits,
                                 config.workers, extract_program, progress, config.ray)
    result = run_summary(store, run_id, problems)
    result.update({
        "run_id": run_id, "resumed": resumed, "already_finished": False,
        "model": config.model, "benchmark": manifest.benchmark.name,
        "generated": gen_stats["generated"], "cached": gen_stats["cached"],
        "generation_seconds": round(gen_stats["seconds"], 2),
        "tokens_per_second": round(gen_stats["tokens"] / gen_stats["seconds"], 1) if gen_stats["seconds"] else None,
        "wall_seconds": round(time.monotonic() - started, 2),
        "isolation": isolation,
        "max_tokens": max_tokens,
        "max_tokens_from": max_tokens_from,
        **({"token_limit_note": note} if (note := _token_limit_note(result, max_tokens, max_tokens_from,
                                                                    _looping(store, run_id))) else {}),
    })
    # the isolation is known once the sandbox has started; a run resumed on other servers adds their URLs, and one
    # resumed on another processor or llama.cpp build that generated answers there (a local model) adds that
    manifest = manifest.finished(isolation, engine, served_by(backend),
                                 generated_on=generated_here(manifest.model, gen_stats["generated"]))
    store.finish_run(run_id, result, manifest)
    result["manifest"] = manifest.to_dict()
    return result


def _looping(store: Store, run_id: str) -> int:
    """How many of the run's answers that hit the token limit were stuck in a loop (:mod:`coderank.models.loops`)."""
    rows = store.db.execute("SELECT c.text FROM samples s JOIN completions c ON c.key = s.completion_key "
                            "WHERE s.run_id = ? AND s.truncated = 1", (run_id,))
    return sum(loops.loop_start(text) is not None for (text,) in rows)


def _token_limit_note(summary: dict[str, Any], max_tokens: int, source: str, looping: int = 0) -> str | None:
    """What to tell the user when many samples hit the token limit (None when few did).

    ``looping`` of them ended in a degenerate loop: for most of those a larger limit only buys more loop.
    """
    truncated, samples = summary["truncated"], summary["samples"]
    if not samples or truncated < TRUNCATION_NOTE_SHARE * samples:
        return None
    where = {"option": "--max-tokens", "problems": "the largest max_tokens the problems give",
             "default": "the default"}[source]
    if looping * 2 > truncated:
        note = (f"{truncated} of {samples} samples hit the token limit of {max_tokens} ({where}); {looping} of them "
                "were stuck in a loop (the same few lines over and over), which a larger limit does not help: "
                "--stop-loops stops such answers early and cuts the loop off")
    else:
        note = (f"{truncated} of {samples} samples hit the token limit of {max_tokens} ({where}): these problems "
                f"need more; run again with --max-tokens {2 * max_tokens}, or give max_tokens in the problem file"
                + (f" ({looping} of them were stuck in a loop: --stop-loops cuts those off)" if looping else ""))
    echoed = summary["echoes"]["truncated"]
    if echoed:
        note += (f". {echoed} of the {truncated} repeated at least half of the statement (an echo): a prompt that "
                 "does not show the statement as code may help more than a larger limit")
    return note


def _generate(store: Store, backend: Backend, template: Any, todo: list[tuple[Problem, int]], config: EvalConfig,
              max_tokens: int, progress: Progress | None) -> dict[str, Any]:
    requests: list[Request] = []
    for problem, i in todo:
        rendered = template.render(problem)
        requests.append(Request(
            kind=rendered.kind, text=rendered.text,
            messages=tuple((m["role"], m["content"]) for m in rendered.messages) if rendered.messages else None,
            max_tokens=max_tokens, temperature=config.temperature, top_p=config.top_p,
            stop=tuple(rendered.stop), seed=config.seed + i, stop_loops=config.stop_loops,
        ))
    stats = GenStats()
    answers = cached_generate(store, backend, requests, [{"index": i} for _, i in todo], progress=progress,
                              stats=stats)
    completions = {(problem.task_id, i): (g.key, {"text": g.text, "finish_reason": g.finish_reason})
                   for (problem, i), g in zip(todo, answers, strict=True)}
    return {"completions": completions, "generated": stats.generated, "cached": stats.cached,
            "tokens": stats.tokens, "seconds": stats.seconds}


def _execute(store: Store, run_id: str, todo: list[tuple[Problem, int]],
             completions: dict[tuple[str, int], tuple[str, dict[str, Any]]], kind: str, limits: Limits,
             workers: int | None, extract_program: Any, progress: Progress | None,
             ray: str | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """Extract and execute every sample; return the isolation layers that were active and where programs ran."""
    jobs = []
    for problem, i in todo:
        key, comp = completions[(problem.task_id, i)]
        ex = extract_program(problem, comp["text"], kind)
        truncated = comp.get("finish_reason") == "length"
        meta = {"method": ex.method, "note": ex.note, "echo": ex.echo}
        if ex.program is None:
            detail = ex.note or "no code could be extracted"
            if ex.echo >= ECHO_SHARE:
                detail = (f"echo: the answer repeats {ex.echo:.0%} of the statement"
                          + (" and hit the token limit" if truncated else "") + f"; {detail}")
            store.put_sample(run_id, problem.task_id, i, completion_key=key, program=None, extraction=meta,
                             status=Status.NO_CODE.value, detail=detail,
                             cpu_seconds=None, wall_seconds=None, output=None, truncated=truncated)
            continue
        jobs.append(Job((problem.task_id, i, key, meta, truncated), problem, ex.program))
    if progress:
        progress("executing", 0, len(jobs))
    if not jobs:
        return {}, {}
    with open_pool(workers=workers, limits=limits, ray=ray) as executor:
        isolation = executor.isolation
        for n_done, (job, verdict) in enumerate(executor.map(jobs), start=1):
            task_id, i, key, meta, truncated = job.key
            store.put_sample(run_id, task_id, i, completion_key=key, program=job.program, extraction=meta,
                             status=verdict.status.value, detail=verdict.detail, cpu_seconds=verdict.cpu_seconds,
                             wall_seconds=verdict.wall_seconds, output=verdict.output, truncated=truncated)
            if progress:
                progress("executing", n_done, len(jobs))
        isolation, engine = executor.isolation, executor.engine  # again: a Ray node may have joined mid-run
    return isolation, engine


def run_summary(store: Store, run_id: str, problems: list[Problem] | None = None, *, seed: int = 0) -> dict[str, Any]:
    """pass@k with intervals, status counts, truncations and echoes, computed from the stored samples.

    ``seed`` seeds the bootstrap intervals: the run's own (:attr:`~coderank.record.RunManifest.interval_seed`), so
    that what is stored, shown and verified is the interval the run printed. The dict is a
    :class:`~coderank.record.RunSummary`'s; eval and rescore add what the call did before storing it.

    ``echoes`` counts the samples whose answer repeats at least :data:`~coderank.models.extract.ECHO_SHARE` of
    the problem's statement (``samples``), and how many of those hit the token limit (``truncated``) or gave no
    code (``no_code``): a truncated or empty answer that is an echo is reported as one.
    """
    counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    statuses: Counter[str] = Counter()
    unscorable: dict[str, str] = {}
    truncated = 0
    echoes = Counter({"samples": 0, "truncated": 0, "no_code": 0})
    for row in store.samples(run_id):
        c = counts[row.task_id]
        c[0] += 1
        c[1] += row.status == Status.PASSED.value
        statuses[row.status] += 1
        truncated += row.truncated
        echo = (row.extraction or {}).get("echo", 0.0)
        if isinstance(echo, (int, float)) and echo >= ECHO_SHARE:
            echoes.update(samples=1, truncated=int(row.truncated), no_code=int(row.status == Status.NO_CODE.value))
        if row.status == Status.INVALID.value:
            unscorable.setdefault(row.task_id, row.detail)
    order = [p.task_id for p in problems] if problems else sorted(counts)
    nc = [(counts[t][0], counts[t][1]) for t in order if t in counts]
    return RunSummary(
        pass_at_k=pass_at_k(nc, seed=seed),
        samples=sum(statuses.values()),
        problems=len(nc),
        status_counts=dict(statuses),
        truncated=truncated,
        echoes=dict(echoes),
        # Problems the sandbox could not run (their tests pass the program an object, say): task id -> why.
        unscorable_problems=unscorable or None,
        per_problem={t: {"n": counts[t][0], "c": counts[t][1]} for t in order if t in counts},
    ).to_dict()


@dataclass(frozen=True, kw_only=True)
class VerifyResult(Record):
    """The outcome of :func:`verify_run`; ``to_json()`` is the document ``coderank verify --json`` prints.

    Attributes:
        run_id: The run verified.
        samples: Its samples.
        re_executed: The programs executed again (samples without a program have nothing to run).
        mismatches: The samples whose verdict differs now: ``{"task_id", "sample_index", "stored", "now",
            "detail"}``.
        hash_problems: Every stored hash of the store that does not match what it hashes.
        score_problems: How the stored score differs from the one the stored verdicts give.
        pass_at_k: The run's stored pass@k table.
        ok: Nothing differs: every verdict, the score and every hash match.
        engine: Where the programs ran (``{"engine": "local", "workers"}``, or the Ray cluster).
    """

    run_id: str = ""
    samples: int = 0
    re_executed: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    hash_problems: list[str] = field(default_factory=list)
    score_problems: list[str] = field(default_factory=list)
    pass_at_k: dict[str, PassAtK] = field(default_factory=dict)
    ok: bool = False
    engine: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as the JSON document it is printed as."""
        return self.to_dict()


def verify_run(run_ref: str, store_path: Path | None = None, workers: int | None = None,
               progress: Progress | None = None, ray: str | None = None) -> VerifyResult:
    """Re-execute a stored run's programs and compare every verdict and the score with what was stored.

    ``ray`` runs the programs on that Ray cluster (see :class:`EvalConfig`); the result's ``engine`` says where.

    Raises:
        UsageError: no such run.
    """
    check_workers(workers, per_node=ray is not None)
    check_address(ray)
    store = Store(store_path)
    run = store.get_run(run_ref, kinds=SCORED)
    manifest = run.run_manifest
    bench = load_benchmark(str(manifest.benchmark.name))
    if bench.sha256 != manifest.benchmark.sha256:
        raise UsageError(f"benchmark {bench.name} changed since run {run.run_id} (hash differs)",
                         "verify needs the exact benchmark data the run used")
    limits = Limits(**manifest.sandbox_limits)
    rows = list(store.samples(run.run_id))
    jobs = [Job(row, bench.problems[row.task_id], row.program) for row in rows if row.program is not None]
    mismatches = []
    if progress:
        progress("verifying", 0, len(jobs))
    engine: dict[str, Any] = {}
    with open_pool(workers=workers, limits=limits, ray=ray) as executor:
        for n_done, (job, verdict) in enumerate(executor.map(jobs), start=1):
            row = job.key
            if verdict.status.value != row.status:
                mismatches.append({"task_id": row.task_id, "sample_index": row.sample_index,
                                   "stored": row.status, "now": verdict.status.value, "detail": verdict.detail})
            if progress:
                progress("verifying", n_done, len(jobs))
        engine = executor.engine
    hash_problems = store.verify_hashes()
    stored = run.summary or {}
    now = run_summary(store, run.run_id, list(bench), seed=manifest.interval_seed)
    score_problems = _score_problems(run, stored, now)
    store.close()
    return VerifyResult.from_dict({
        "run_id": run.run_id, "samples": len(rows), "re_executed": len(jobs), "mismatches": mismatches,
        "hash_problems": hash_problems, "score_problems": score_problems, "pass_at_k": stored.get("pass_at_k", {}),
        "ok": not mismatches and not hash_problems and not score_problems, "engine": engine,
    })


def _score_problems(run: Any, stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """How the stored summary (the score shown everywhere) differs from the one the stored verdicts give."""
    if run.status != "finished":
        return [f"the run is {run.status}, not finished: it has no final score to confirm (run its command again "
                "to finish it)"]
    out = [f"{key}: stored {stored.get(key)}, the stored verdicts give {now[key]}"
           for key in ("samples", "problems", "status_counts") if stored.get(key) != now[key]]
    kept = stored.get("pass_at_k") or {}
    for k, e in now["pass_at_k"].items():
        s = kept.get(k)
        if s is None or any(abs(float(s.get(f, math.nan)) - e[f]) > 1e-9 for f in ("value", "low", "high")):
            shown = "missing" if s is None else f"{s.get('value')} [{s.get('low')}, {s.get('high')}]"
            out.append(f"{k}: stored {shown}, the stored verdicts give {e['value']} [{e['low']}, {e['high']}]")
    out += [f"{k}: stored, but the verdicts do not allow it" for k in kept if k not in now["pass_at_k"]]
    return out



@dataclass(frozen=True)
class RescoreConfig:
    """Re-scoring a stored run's programs under other sandbox limits, as a new run (nothing is generated).

    Attributes:
        run: The stored run (id, unique id prefix or name); a finished eval or score run.
        cpu_seconds: CPU seconds per program (None: the run's own).
        wall_seconds: Wall-clock backstop (None: the run's own, or ``max(10, 4 x cpu_seconds)`` when
            ``cpu_seconds`` is given; 0: that default).
        memory_mb: Address-space limit per program in MiB (None: the run's own).
        workers: Sandbox workers.
        store: Database path (None: the default).
        out: Also write the new run to this folder (manifest.json, summary.json, samples.jsonl).
        name: Display name of the new run.
        ray: Run the programs on this Ray cluster (see :class:`EvalConfig`); no part of the new run's identity.
    """

    run: str
    cpu_seconds: float | None = None
    wall_seconds: float | None = None
    memory_mb: int | None = None
    workers: int | None = None
    store: Path | None = None
    out: Path | None = None
    name: str | None = None
    ray: str | None = None


@dataclass(frozen=True, kw_only=True)
class RescoreResult(EvalResult):
    """The outcome of :func:`rescore`: an :class:`EvalResult` of the new run, with where it came from.

    ``to_json()`` is the document ``coderank rescore --json`` prints (less ``per_problem``).

    Attributes:
        rescored_from: The run whose programs were executed again.
        re_executed: Programs this call executed.
        copied: Samples without a program, copied as they were.
    """

    rescored_from: str = ""
    re_executed: int = 0
    copied: int = 0


def rescore(config: RescoreConfig, progress: Progress | None = None) -> RescoreResult:
    """Execute a finished run's stored programs again under other sandbox limits, as a new run.

    The new run's id is the hash of the source run's id and the limits asked for; its manifest is the source's
    with the new ``sandbox_limits`` and ``rescored_from`` (the source's id and limits). Samples without a program
    (no code could be extracted) are copied as they are. Like :func:`evaluate`, it resumes if interrupted and
    returns a finished run as it was stored.

    Raises:
        UsageError: no such run, an unfinished or unscored run, a changed benchmark, bad limits, or the limits
            the run already has.
    """
    check_workers(config.workers, per_node=config.ray is not None)
    check_address(config.ray)
    check_name(config.name)
    if config.out is not None:
        check_output_folder(config.out, "the run is written to a folder (manifest, summary, samples)")
    started = time.monotonic()
    store = Store(config.store)
    try:
        source = store.get_run(config.run, kinds=SCORED)
        if source.status != "finished":
            raise UsageError(f"{source.run_id} is {source.status}, not finished: only a finished run can be rescored",
                             "run the command that made it again to finish it, then rescore it")
        kept = source.run_manifest
        bench = load_benchmark(str(kept.benchmark.name))
        if bench.sha256 != kept.benchmark.sha256:
            raise UsageError(f"benchmark {bench.name} changed since run {source.run_id} (hash differs)",
                             "rescoring needs the exact benchmark data the run used")
        limits = _rescore_limits(source, config)
        resolved = limits.resolved().as_dict()
        if resolved == kept.sandbox_limits:
            raise UsageError(f"these are the limits {source.run_id} was scored under",
                             "give --timeout, --wall-timeout or --memory-mb another value; `coderank verify "
                             f"{source.run_id}` re-checks a run under its own limits")
        manifest = kept.rescored(source.run_id, resolved)
        identity = {"rescored_from": source.run_id, "sandbox_limits": limits.with_wall().as_dict()}
        run_id, resumed = store.open_run(identity, manifest, kind=source.kind, model=source.model,
                                         benchmark=source.benchmark)
        if config.name is not None:
            store.set_name(run_id, config.name)
        run = store.find_run(run_id)
        assert run is not None
        tasks = {row.task_id for row in store.samples(source.run_id)}
        problems = [p for p in bench if p.task_id in tasks]
        if run.status == "finished":
            result = _finished_result(store, run, problems, started)
        else:
            with recording(store, run_id):
                result = _run_rescore(store, run_id, resumed, source, bench, problems, limits, run.run_manifest,
                                      config, started, progress)
        if config.name or run.name:
            result["name"] = config.name or run.name
    finally:
        store.close()
    if config.out is not None:
        write_run_dir(config.out, run_id, config.store)
    return RescoreResult.from_dict(result)


def _rescore_limits(source: RunInfo, config: RescoreConfig) -> Limits:
    """The source run's limits with the options given put in."""
    kept = Limits(**source.run_manifest.sandbox_limits)
    wall = config.wall_seconds
    if wall is None:
        wall = 0.0 if config.cpu_seconds is not None else kept.wall_seconds  # the backstop follows --timeout
    return replace(kept, cpu_seconds=kept.cpu_seconds if config.cpu_seconds is None else config.cpu_seconds,
                   wall_seconds=wall,
                   memory_bytes=kept.memory_bytes if config.memory_mb is None else config.memory_mb << 20)


def _run_rescore(store: Store, run_id: str, resumed: bool, source: RunInfo, bench: Benchmark, problems: list[Problem],
                 limits: Limits, manifest: RunManifest, config: RescoreConfig, started: float,
                 progress: Progress | None) -> dict[str, Any]:
    done = store.done_keys(run_id)
    rows = [r for r in store.samples(source.run_id) if (r.task_id, r.sample_index) not in done]
    copied = 0
    jobs = []
    for row in rows:
        if row.program is None:  # nothing to run: its verdict (no code) does not depend on limits
            store.put_sample(run_id, row.task_id, row.sample_index, completion_key=row.completion_key, program=None,
                             extraction=row.extraction, status=row.status, detail=row.detail, cpu_seconds=None,
                             wall_seconds=None, output=row.output, truncated=row.truncated)
            copied += 1
        else:
            jobs.append(Job(row, bench.problems[row.task_id], row.program))
    isolation: dict[str, str] = {}
    engine: dict[str, Any] = {}
    if progress:
        progress("executing", 0, len(jobs))
    if jobs:
        with open_pool(workers=config.workers, limits=limits, ray=config.ray) as executor:
            isolation = executor.isolation
            for n_done, (job, verdict) in enumerate(executor.map(jobs), start=1):
                row = job.key
                store.put_sample(run_id, row.task_id, row.sample_index, completion_key=row.completion_key,
                                 program=row.program, extraction=row.extraction, status=verdict.status.value,
                                 detail=verdict.detail, cpu_seconds=verdict.cpu_seconds,
                                 wall_seconds=verdict.wall_seconds, output=verdict.output, truncated=row.truncated)
                if progress:
                    progress("executing", n_done, len(jobs))
            isolation, engine = executor.isolation, executor.engine  # again: a Ray node may have joined mid-run
    result = run_summary(store, run_id, problems, seed=manifest.interval_seed)
    kept = source.summary or {}
    tokens: dict[str, Any] = {k: kept[k] for k in ("max_tokens", "max_tokens_from") if k in kept}
    result.update({
        "run_id": run_id, "resumed": resumed, "already_finished": False, "model": source.model,
        "benchmark": source.benchmark, "rescored_from": source.run_id, "re_executed": len(jobs), "copied": copied,
        "generated": 0, "cached": 0, "wall_seconds": round(time.monotonic() - started, 2), "isolation": isolation,
        **tokens,
    })
    manifest = manifest.finished(isolation, engine)
    store.finish_run(run_id, result, manifest)
    result["manifest"] = manifest.to_dict()
    return result
