"""Model backends behind one small protocol, registered by name.

Model specs (``coderank eval --model SPEC``):

- ``default``: the embedded Qwen2.5-Coder-0.5B-Instruct GGUF, run by llama.cpp on the CPU.
- ``gemma-270m``: the second embedded model, Gemma 3 270M (a base model: completion prompts by default),
  the same way (optional extra ``gemma``). Every embedded model is one entry of ``coderank.models.embedded``.
- ``gguf:PATH``: any local GGUF file through llama-cpp-python (the file's sha256 is its identity).
- ``hf:PATH``: a saved transformers model directory or a GGUF file through Hugging Face transformers
  (optional extra ``hf``; slow on a CPU, there for fine-tuned checkpoints and GPUs). A directory that
  holds a PEFT adapter (``adapter_config.json``, as ``coderank train`` writes) loads its base model first —
  named in the directory's ``coderank-base.json`` — and applies the adapter on top.
- ``lora:DIR``: a LoRA adapter trained by ``coderank train``, run as fast as its base: llama.cpp loads the
  base GGUF (the embedded model for ``--base default`` or ``--base gemma-270m``) and applies
  ``DIR/adapter.gguf`` on top (llama-cpp-python's ``lora_path``). The base comes from
  ``DIR/coderank-base.json`` and its sha256 is checked against the one recorded at training time; the identity
  in the store holds both the base's and the adapter's sha256, so runs of different adapters never share cached
  completions.
- ``openai:MODEL``: any OpenAI-compatible server through the official ``openai`` SDK: OpenAI itself
  (``openai:gpt-4o``, key from ``OPENAI_API_KEY``), or a vLLM / llama.cpp / Ollama / TGI server given with
  ``--base-url http://host:port/v1`` (several comma-separated URLs are replicas of one model, used in
  turn). Retries with backoff on 429 and 5xx (capped), a timeout per request,
  and ``--concurrency`` requests in flight. The identity names the API model and the URLs; with
  ``--served-model NAME`` it names NAME instead of the URLs (the same model on other servers is the same run
  and cache), once every replica's ``/v1/models`` has been seen to agree.

A backend factory imports its heavy library only when used, and says which extra to install if missing.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from coderank.digest import sha256_file, sha256_text, tagged
from coderank.errors import CoderankError, UsageError, install_hint
from coderank.models import embedded, loops
from coderank.paths import require_file


@dataclass(frozen=True)
class Request:
    """One generation request: the exact prompt (text or chat messages) and decoding parameters."""

    kind: str  # "completion" or "chat"
    text: str | None
    messages: tuple[tuple[str, str], ...] | None
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    seed: int
    stop_loops: bool = False  # stop at the first degenerate loop and cut it off (coderank.models.loops)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for cache keys and manifests (``stop_loops`` only when set, so other keys stay as they were)."""
        return {
            "kind": self.kind, "text": self.text,
            "messages": [list(m) for m in self.messages] if self.messages is not None else None,
            "max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p,
            "stop": list(self.stop), "seed": self.seed, **({"stop_loops": True} if self.stop_loops else {}),
        }


@dataclass(frozen=True)
class Completion:
    """What a backend returned: the raw text, why it stopped, token counts and time taken."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float


class Backend(Protocol):
    """What every backend provides."""

    spec: str

    def identity(self) -> dict[str, Any]:
        """What identifies the model exactly (weights sha256, or API model id and base URL)."""
        ...

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        """Generate each request, yielding ``(position in requests, completion)`` as they finish."""
        ...

    def close(self) -> None:
        """Release the model or connections."""
        ...


@dataclass(frozen=True)
class BackendOptions:
    """Options that apply to some backends.

    Attributes:
        base_url: OpenAI-compatible server URL (``http://127.0.0.1:8080/v1``); several, comma-separated, are
            replicas of one model.
        served_model: What the ``base_url`` servers serve (``--served-model``, e.g. the model and revision given
            to ``vllm serve``): the identity names it and the API model instead of the URLs, so the same model
            on other servers shares run ids and cached completions; every replica must then answer
            ``/v1/models`` with the same model.
        api_key_env: Environment variable holding the API key.
        concurrency: Requests in flight (servers); the local llama.cpp backend runs one at a time.
        timeout: Seconds per request before it is retried.
        max_retries: Retries of a failed request (429, 5xx, timeouts) with exponential backoff.
        n_ctx: Context window for local GGUF models.
        threads: CPU threads for local GGUF models (default: all cores).
    """

    base_url: str | None = None
    served_model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout: float = 120.0
    max_retries: int = 5
    n_ctx: int = 4096
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for option, value, least in (("--concurrency", self.concurrency, 1), ("--max-retries", self.max_retries, 0),
                                     ("--threads", self.threads, 1), ("n_ctx", self.n_ctx, 1)):
            if value is not None and value < least:
                raise UsageError(f"{option} must be at least {least}, got {value}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError(f"the request timeout must be a positive number of seconds, got {self.timeout}")
        if self.served_model is not None and not self.served_model.strip():
            raise UsageError("--served-model is empty", "name what the servers serve, e.g. the model and revision "
                             "given to vllm serve")


def check_decoding(temperature: float, top_p: float = 1.0, *, option: str = "--temperature") -> None:
    """Refuse sampling parameters no backend means the same thing by.

    Raises:
        UsageError: a temperature that is negative or not finite (0 is greedy), or a top-p outside (0, 1].
    """
    if not (math.isfinite(temperature) and temperature >= 0):
        raise UsageError(f"{option} must be 0 (greedy) or a positive number, got {temperature}",
                         "0.2 to 0.8 is usual for pass@k with k > 1")
    if not (math.isfinite(top_p) and 0 < top_p <= 1):
        raise UsageError(f"--top-p must be above 0 and at most 1, got {top_p}", "1 turns nucleus sampling off")


Factory = Callable[[str, BackendOptions], Backend]
_REGISTRY: dict[str, Factory] = {}


def backend(prefix: str) -> Callable[[Factory], Factory]:
    """Register a backend factory for specs ``PREFIX:...`` (or exactly ``PREFIX``)."""

    def deco(factory: Factory) -> Factory:
        _REGISTRY[prefix] = factory
        return factory

    return deco


def load_backend(spec: str, options: BackendOptions | None = None) -> Backend:
    """Build the backend a model spec names.

    Raises:
        UsageError: unknown backend prefix (with suggestions) or a malformed spec.
        CoderankError: the backend's library is not installed (naming the extra) or the model is missing.
    """
    options = options or BackendOptions()
    prefix, _, rest = spec.partition(":")
    factory = _REGISTRY.get(prefix)
    if factory is None:
        close = difflib.get_close_matches(prefix, list(_REGISTRY), n=3)
        named = ", ".join(embedded.MODELS)
        raise UsageError(
            f"unknown model spec {spec!r}",
            (f"did you mean {', '.join(c if c in embedded.MODELS else c + ':' for c in close)}? " if close else "")
            + f"use {named}, gguf:PATH, hf:PATH, lora:DIR or openai:MODEL (with --base-url for a local server)",
        )
    if options.served_model is not None and prefix != "openai":
        raise UsageError(f"--served-model names what OpenAI-compatible servers serve; {spec!r} is not served",
                         "use it with --model openai:MODEL --base-url URL[,URL...], or leave it out")
    try:
        return factory(rest, options)
    except (ValueError, OSError, RuntimeError) as exc:  # the libraries' own "cannot load this model" errors
        raise CoderankError(f"could not load model {spec!r}: {type(exc).__name__}: {exc}"[:600]) from exc


# --- llama.cpp (local GGUF) --------------------------------------------------------------------------------

class LlamaCppBackend:
    """A local GGUF model through llama-cpp-python, on the CPU.

    ``options.extra["batch_size"]`` (``coderank eval --batch-size B``): above 1, greedy requests are decoded B at
    a time in one llama.cpp context (:mod:`coderank.models.batched`); batched arithmetic can change an answer, so
    the batch size is then part of the identity (its own run ids and cached answers). Sampled requests still run
    one at a time.
    """

    def __init__(self, path: Path, options: BackendOptions, spec: str, sha256: str | None = None,
                 lora: Path | None = None) -> None:
        self.batch_size = self._batch_size(options, lora)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise CoderankError("llama-cpp-python is not installed", install_hint("embedded")) from exc
        require_file(path, "GGUF file", "give the path of a .gguf model file")
        from coderank.models.llama_build import amx_warning

        warning = amx_warning()
        if warning:  # said before the load: the crash it warns of comes as a bare segfault
            print(warning, file=sys.stderr, flush=True)
        self.spec = spec
        self.path = path
        self.sha256 = sha256 or embedded.file_sha256(path)
        self.threads = options.threads or os.cpu_count() or 1
        self.lora = lora
        self.lora_sha256 = embedded.file_sha256(lora) if lora is not None else None
        self.llm = Llama(model_path=str(path), n_ctx=options.n_ctx, n_threads=self.threads,
                         n_threads_batch=self.threads, verbose=False,
                         lora_path=str(lora) if lora is not None else None)
        template = self.llm.metadata.get("tokenizer.chat_template", "")
        from coderank.store import sha256_text

        self.chat_template_sha256 = sha256_text(template) if template else None
        self._batched: Any = None

    @staticmethod
    def _batch_size(options: BackendOptions, lora: Path | None) -> int:
        from coderank.models.batched import check_batch_size_range

        size = options.extra.get("batch_size", 1)
        check_batch_size_range(size)
        if size > 1 and lora is not None:
            raise UsageError("--batch-size above 1 does not apply LoRA adapters yet",
                             "leave --batch-size out for lora: models")
        return size

    def identity(self) -> dict[str, Any]:
        """Weights sha256, file name and the chat template's sha256 (the template that ran), plus the LoRA adapter's.

        The batch size too where it is above 1: batched arithmetic can change greedy answers.
        """
        ident: dict[str, Any] = {"backend": "llama.cpp", "weights_sha256": tagged(self.sha256),
                                 "file": self.path.name, "chat_template_sha256": self.chat_template_sha256}
        if self.lora is not None:
            ident["adapter_sha256"] = tagged(str(self.lora_sha256))
        if self.batch_size > 1:
            ident["batch_size"] = self.batch_size
        return ident

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        """One at a time, in order (llama.cpp already uses every core for one request).

        With a batch size above 1, greedy requests ``batch_size`` at a time, yielded as they finish.
        """
        if self.batch_size > 1:
            if self._batched is None:
                from coderank.models.batched import BatchedGreedy

                self._batched = BatchedGreedy(self.llm, self.batch_size)
            yield from self._batched.generate(requests, self._one)
            return
        for i, req in enumerate(requests):
            yield i, self._one(req)

    def _one(self, req: Request) -> Completion:
        start = time.monotonic()
        common: dict[str, Any] = {
            "max_tokens": req.max_tokens, "temperature": req.temperature, "top_p": req.top_p,
            "stop": list(req.stop) or None, "seed": req.seed,
        }
        if req.kind == "chat":
            assert req.messages is not None
            if self.chat_template_sha256 is None:  # llama.cpp would fall back to llama-2's format, silently
                raise UsageError(f"{self.spec} has no chat template of its own (a base model), so it cannot "
                                 "answer chat messages", "give it completion prompts (--prompt-template completion)")
            messages: Any = [{"role": r, "content": c} for r, c in req.messages]
            if req.stop_loops:
                return self._streamed(self.llm.create_chat_completion(messages=messages, stream=True, **common),
                                      start, chat=True)
            out: Any = self.llm.create_chat_completion(messages=messages, **common)
            choice = out["choices"][0]
            text = choice["message"]["content"] or ""
        else:
            if req.stop_loops:
                return self._streamed(self.llm.create_completion(prompt=req.text or "", stream=True, **common),
                                      start, chat=False)
            out = self.llm.create_completion(prompt=req.text or "", **common)
            choice = out["choices"][0]
            text = choice["text"]
        usage = out.get("usage") or {}
        return Completion(text, choice.get("finish_reason"), usage.get("prompt_tokens"),
                          usage.get("completion_tokens"), time.monotonic() - start)

    def _streamed(self, chunks: Any, start: float, *, chat: bool) -> Completion:
        """Read a streamed answer, stopping as soon as a loop is seen (the caller cuts it off).

        A stream reports no token counts (and one chunk may hold several tokens), so the answer's tokens are
        counted by tokenizing its text: within a token or two of what was generated.
        """
        text, finish = "", None
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if piece:
                    text += piece
                    if "\n" in piece and loops.loop_start(text) is not None:
                        finish = "loop"
                        break
                finish = choice.get("finish_reason") or finish
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # ends llama.cpp's generation loop
        tokens = len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
        return Completion(text, finish, None, tokens, time.monotonic() - start)

    def close(self) -> None:
        """Free the model."""
        self.llm.close()


def _embedded_factory(spec: str) -> Factory:
    def factory(rest: str, options: BackendOptions) -> Backend:
        if rest:
            raise UsageError(f"{spec} names an embedded model and takes nothing after it, got {spec}:{rest}",
                             f"use -m {spec}, or gguf:PATH for another GGUF file")
        model = embedded.MODELS[spec]  # looked up on use, so tests can swap a model's description
        return LlamaCppBackend(model.path(), options, spec, sha256=model.sha256)

    return factory


for _spec in embedded.MODELS:
    backend(_spec)(_embedded_factory(_spec))


@backend("gguf")
def _gguf(rest: str, options: BackendOptions) -> Backend:
    if not rest:
        raise UsageError("gguf: needs a path, e.g. gguf:/models/model-q4_k_m.gguf")
    return LlamaCppBackend(Path(rest).expanduser(), options, f"gguf:{rest}")


# --- fine-tuned adapters: their base model, and llama.cpp with the adapter applied ------------------------

ADAPTER_BASE_FILE = "coderank-base.json"
"""Written by ``coderank train`` next to every adapter: which base model the adapter applies to.

Keys: ``version`` (1); ``base`` (the base spec as given to training: an embedded model's spec such as
``default``, ``gguf:PATH`` or a transformers directory); ``sha256`` (the base weights' tagged sha256 at training
time); ``gguf`` (absolute path of the GGUF llama.cpp runs the adapter on, or ``null`` for an embedded model,
which is resolved on each machine)
and ``gguf_sha256`` (its tagged sha256, or ``null``).
"""


@dataclass(frozen=True)
class BaseModel:
    """A base model as transformers and llama.cpp load it.

    Attributes:
        spec: The spec it was resolved from (an embedded model's, ``gguf:PATH``, ``hf:DIR`` or a plain path).
        model_dir: Directory for transformers' ``from_pretrained``.
        gguf_file: The GGUF's file name inside ``model_dir`` when the weights are a GGUF (transformers
            dequantizes it), else ``None``.
        weights: Weight file name -> tagged sha256.
        sha256: Tagged sha256 that identifies the weights: the file's own for one file; for several, the
            sha256 of their ``name sha256`` lines in name order.
        gguf: The GGUF file llama.cpp runs, where the base is one (``None`` for a transformers directory).
    """

    spec: str
    model_dir: str
    gguf_file: str | None
    weights: dict[str, str]
    sha256: str
    gguf: Path | None


def resolve_base(spec: str) -> BaseModel:
    """Find and hash a base model: an embedded model (``default``, ``gemma-270m``), a GGUF, or a model folder.

    Raises:
        UsageError: the path does not exist or is not a model.
        CoderankError: the embedded model is missing or fails its sha256 check.
    """
    model = embedded.get(spec)
    if model is not None:
        path = model.path()
        tagged = model.tagged_sha256
        return BaseModel(spec, str(path.parent), path.name, {path.name: tagged}, tagged, path)
    target = spec.split(":", 1)[1] if spec.startswith(("gguf:", "hf:")) else spec
    path = Path(target).expanduser()
    if not path.exists():
        raise UsageError(f"base model {path} does not exist",
                         f"give {' or '.join(embedded.MODELS)} (an embedded model), a .gguf file or a transformers "
                         "model directory")
    if path.is_file():
        if path.suffix != ".gguf":
            raise UsageError(f"base model {path} is a file but not a .gguf", "give a GGUF file or a model directory")
        digest = sha256_file(path)
        return BaseModel(spec, str(path.parent.resolve()), path.name, {path.name: digest}, digest, path.resolve())
    if not (path / "config.json").is_file():
        raise UsageError(f"{path} has no config.json, so it is not a transformers model directory",
                         "give a directory written by save_pretrained, a .gguf file, or default")
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    if not files:
        raise UsageError(f"{path} has no weights (*.safetensors or *.bin)", "give a complete model directory")
    weights = {f.name: sha256_file(f) for f in files}
    if len(weights) == 1:
        digest = next(iter(weights.values()))
    else:
        digest = sha256_text("".join(f"{name} {sha}\n" for name, sha in sorted(weights.items())))
    return BaseModel(spec, str(path.resolve()), None, weights, digest, None)


def read_adapter_base(adapter_dir: Path) -> dict[str, Any]:
    """The ``coderank-base.json`` record of an adapter directory (see :data:`ADAPTER_BASE_FILE`).

    Raises:
        UsageError: the directory is missing or holds no valid record.
    """
    import json

    record_path = adapter_dir / ADAPTER_BASE_FILE
    rewrite = "rerun the coderank train command that wrote it"
    if not adapter_dir.is_dir():
        raise UsageError(f"adapter directory {adapter_dir} does not exist", "give the --out folder of coderank train")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{adapter_dir} has no {ADAPTER_BASE_FILE}, so its base model is unknown",
                         "give the --out folder of coderank train (or one of its checkpoints)") from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"{record_path}: unreadable ({exc})", rewrite) from exc
    if not isinstance(record, dict) or record.get("version") != 1 or not isinstance(record.get("base"), str):
        raise UsageError(f"{record_path}: not a version-1 base record", rewrite)
    return record


def adapter_base_gguf(adapter_dir: Path) -> tuple[Path, str]:
    """The base GGUF an adapter applies to and its hex sha256, checked against the training-time record.

    Raises:
        UsageError: no record, or the base has no GGUF.
        CoderankError: the base file changed since training.
    """
    record = read_adapter_base(adapter_dir)
    model = embedded.get(record["base"])
    if model is not None:
        path, digest = model.path(), model.sha256
        if record.get("sha256") != model.tagged_sha256:
            raise CoderankError(f"{adapter_dir} was trained on another embedded model ({record.get('sha256')})",
                                "use the coderank version it was trained with, or train again")
        return path, digest
    if not record.get("gguf"):
        raise UsageError(f"{adapter_dir}: the base model {record['base']} has no GGUF for llama.cpp",
                         f"evaluate with hf:{adapter_dir} instead")
    path = Path(record["gguf"])
    if not path.is_file():
        raise UsageError(f"{adapter_dir}: base GGUF {path} does not exist", "put it back or train again")
    digest = embedded.file_sha256(path)
    if record.get("gguf_sha256") != tagged(digest):
        raise CoderankError(f"{path} changed since {adapter_dir} was trained (sha256 differs); refusing to apply "
                            "the adapter to other weights", "restore the original base file or train again")
    return path, digest


@backend("lora")
def _lora(rest: str, options: BackendOptions) -> Backend:
    if not rest:
        raise UsageError("lora: needs the folder coderank train wrote, e.g. lora:./out/run1")
    folder = Path(rest).expanduser()
    base, digest = adapter_base_gguf(folder)
    adapter = folder / "adapter.gguf"
    if not adapter.is_file():
        raise UsageError(f"{adapter} does not exist (the adapter was not converted to GGUF)",
                         f"rerun the coderank train command (it resumes and converts), or evaluate with hf:{rest}")
    return LlamaCppBackend(base, options, f"lora:{rest}", sha256=digest, lora=adapter)


# --- OpenAI-compatible servers -----------------------------------------------------------------------------

class OpenAIBackend:
    """Any OpenAI-compatible HTTP server through the official SDK."""

    def __init__(self, model: str, options: BackendOptions) -> None:
        try:
            import openai
        except ImportError as exc:
            raise CoderankError("the openai package is not installed", install_hint("openai")) from exc
        if not model:
            raise UsageError("openai: needs a model name, e.g. openai:gpt-4o or openai:qwen2.5-coder")
        if options.served_model and not (options.base_url or "").strip(" ,"):
            raise UsageError("--served-model names what the --base-url servers serve, and no --base-url was given",
                             "give --base-url URL[,URL...] (one `vllm serve` per URL), or leave --served-model out")
        key = os.environ.get(options.api_key_env)
        base = options.base_url or ""
        local = any(h in base for h in ("127.0.0.1", "localhost", "[::1]"))
        if not key and not local:
            raise UsageError(f"no API key: the environment variable {options.api_key_env} is not set",
                             f"export {options.api_key_env}=... (or --api-key-env NAME for another variable)")
        self.spec = f"openai:{model}"
        self.model = model
        self.options = options
        # Several comma-separated URLs are replicas of one model (N `vllm serve` processes): requests go to
        # them in turn.
        self.base_urls: list[str | None] = [u.strip() for u in (options.base_url or "").split(",") if u.strip()]
        self.base_urls = self.base_urls or [None]
        self.clients = [openai.OpenAI(base_url=url, api_key=key or "not-needed", max_retries=options.max_retries,
                                      timeout=options.timeout) for url in self.base_urls]
        self.client = self.clients[0]
        # --served-model: the identity names what the servers serve, not where they are; they must agree on it.
        self.served_model = options.served_model.strip() if options.served_model else None
        self.served: str | None = None
        if self.served_model:
            try:
                self.served = self._check_replicas()
            except BaseException:
                self.close()
                raise

    def identity(self) -> dict[str, Any]:
        """API model id and base URL (the sorted list, for replicas); with ``--served-model``, that name instead."""
        if self.served_model:
            return {"backend": "openai-compatible", "model": self.model, "served_model": self.served_model}
        urls = sorted(u or "https://api.openai.com/v1" for u in self.base_urls)
        return {"backend": "openai-compatible", "model": self.model,
                "base_url": urls[0] if len(urls) == 1 else urls}

    def servers(self) -> list[str] | None:
        """The replica URLs when the identity does not name them (``--served-model``), for the manifest."""
        return sorted({u for u in self.base_urls if u}) if self.served_model else None

    def _check_replicas(self) -> str:
        """Ask every replica's ``/v1/models`` what it serves; return what they all serve.

        A replica serves the API model's entry (its id, and the ``root`` vLLM gives: the weights it was started
        from) where it lists the API model, else the ids it lists (a llama.cpp server answers any model name).

        Raises:
            CoderankError: a replica did not answer, listed no model, or serves something else than the others
                (each such URL named).
        """
        import openai

        hint = ("--served-model says that every --base-url replica serves the same model: start each from the same "
                "model (the same `vllm serve` arguments), or leave the odd one out of --base-url")
        served: dict[str, str] = {}
        for url, client in zip(self.base_urls, self.clients, strict=True):
            assert url is not None
            try:
                entries = list(client.models.list())
            except (openai.OpenAIError, ValueError) as exc:
                raise CoderankError(f"replica {url} did not answer GET {url.rstrip('/')}/models: "
                                    f"{type(exc).__name__}: {exc}"[:600], hint) from exc
            ids = sorted(str(i) for i in (getattr(e, "id", None) for e in entries) if i)
            if not ids:
                raise CoderankError(f"replica {url} serves no model (GET {url.rstrip('/')}/models listed none)", hint)
            mine = next((e for e in entries if getattr(e, "id", None) == self.model), None)
            root = (mine.model_extra or {}).get("root") if mine is not None else None
            served[url] = (repr(self.model) + (f" (root {root!r})" if root and root != self.model else "")
                           if mine is not None else ", ".join(map(repr, ids)))
        common = Counter(served.values()).most_common(1)[0][0]  # ties: the first URL's
        odd = [u for u in served if served[u] != common]
        if odd:
            agree = [u for u in served if served[u] == common]
            where = agree[0] + (f" and {len(agree) - 1} more" if len(agree) > 1 else "")
            raise CoderankError("the --base-url replicas do not serve the same model: "
                                + "; ".join(f"{u} serves {served[u]}" for u in odd)
                                + f", where {where} serve{'s' if len(agree) == 1 else ''} {common}", hint)
        return common

    def _one(self, req: Request, replica: int = 0) -> Completion:
        start = time.monotonic()
        client = self.clients[replica % len(self.clients)]
        common: dict[str, Any] = {
            "model": self.model, "max_tokens": req.max_tokens, "temperature": req.temperature,
            "top_p": req.top_p, "seed": req.seed,
        }
        if req.stop:
            common["stop"] = list(req.stop)[:4]  # the OpenAI API accepts at most four stop sequences
        if req.kind == "chat":
            assert req.messages is not None
            resp = client.chat.completions.create(
                messages=[{"role": r, "content": c} for r, c in req.messages],  # type: ignore[misc]
                **common)
            choice = resp.choices[0]
            text = choice.message.content or ""
        else:
            cresp = client.completions.create(prompt=req.text or "", **common)
            choice = cresp.choices[0]  # type: ignore[assignment]
            text = cresp.choices[0].text
            resp = cresp  # type: ignore[assignment]
        usage = resp.usage
        return Completion(text, choice.finish_reason, usage.prompt_tokens if usage else None,
                          usage.completion_tokens if usage else None, time.monotonic() - start)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        """Up to ``concurrency`` requests in flight; results in completion order."""
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            pending: dict[Future[Completion], int] = {}
            it = iter(enumerate(requests))
            for i, req in it:
                pending[pool.submit(self._one, req, i)] = i
                if len(pending) >= self.options.concurrency:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(self._one, nxt[1], nxt[0])] = nxt[0]

    def close(self) -> None:
        """Close the HTTP clients."""
        for client in self.clients:
            client.close()


@backend("openai")
def _openai(rest: str, options: BackendOptions) -> Backend:
    return OpenAIBackend(rest, options)


def served_by(backend: Backend) -> list[str] | None:
    """Where a backend's answers came from, when its identity does not say: the sorted replica URLs.

    Those of ``openai:`` with ``--served-model``; None otherwise (the identity names the URLs, or it runs here).
    """
    return backend.servers() if isinstance(backend, OpenAIBackend) else None


# --- Hugging Face transformers (optional extra) ------------------------------------------------------------

class TransformersBackend:
    """A model through Hugging Face transformers: a saved model directory, or a GGUF file (dequantized).

    On the CPU this is far slower than llama.cpp; it exists for checkpoints that only transformers loads
    (e.g. the output of fine-tuning) and for GPUs.
    """

    def __init__(self, target: str, options: BackendOptions) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise CoderankError("transformers/torch are not installed",
                                install_hint("hf")) from exc
        path = Path(target).expanduser()
        if not path.exists():
            raise UsageError(f"hf: {path} does not exist", "give a saved model directory or a .gguf file")
        self.spec = f"hf:{target}"
        self.torch = torch
        self.adapter: dict[str, str] | None = None
        kwargs: dict[str, Any] = {}
        adapter_dir = path if path.is_dir() and (path / "adapter_config.json").is_file() else None
        if adapter_dir is not None:
            base = resolve_base(read_adapter_base(adapter_dir)["base"])
            recorded = read_adapter_base(adapter_dir).get("sha256")
            if recorded != base.sha256:
                raise CoderankError(f"{adapter_dir} was trained on other base weights ({recorded}, now {base.sha256})",
                                    "restore the original base model or train again")
            model_dir = base.model_dir
            if base.gguf_file:
                kwargs["gguf_file"] = base.gguf_file
            self.weights = dict(base.weights)
            files = sorted(adapter_dir.glob("adapter_model.*"))
            self.adapter = {f.name: sha256_file(f) for f in files}
        elif path.is_file():
            model_dir, kwargs["gguf_file"] = str(path.parent), path.name
            self.weights = {path.name: sha256_file(path)}
        elif not (path / "config.json").is_file():
            raise UsageError(f"hf: {path} is not a saved model directory (it has no config.json)",
                             "give the folder save_pretrained() wrote (config.json, weights, tokenizer), a LoRA "
                             "adapter folder from coderank train, or a .gguf file")
        else:
            model_dir = str(path)
            weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
            self.weights = {w.name: sha256_file(w) for w in weights}
        torch.set_num_threads(options.threads or os.cpu_count() or 1)
        has_tokenizer = adapter_dir is not None and (adapter_dir / "tokenizer_config.json").is_file()
        self.tokenizer = (transformers.AutoTokenizer.from_pretrained(str(adapter_dir)) if has_tokenizer
                          else transformers.AutoTokenizer.from_pretrained(model_dir, **kwargs))
        self.model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                                       **kwargs)
        if adapter_dir is not None:
            try:
                import peft
            except ImportError as exc:
                raise CoderankError("peft is not installed, so the adapter cannot be applied",
                                    install_hint("train")) from exc
            self.model = peft.PeftModel.from_pretrained(self.model, str(adapter_dir))  # type: ignore[assignment]
        self.model.eval()
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(device)  # type: ignore[arg-type]
        self.device = device

    def identity(self) -> dict[str, Any]:
        """Weights files and their sha256 (and the adapter's, for an adapter directory)."""
        ident: dict[str, Any] = {"backend": "transformers", "weights": self.weights}
        if self.adapter is not None:
            ident["adapter"] = self.adapter
        return ident

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        """One at a time, in order."""
        for i, req in enumerate(requests):
            yield i, self._one(req)

    def _one(self, req: Request) -> Completion:
        torch = self.torch
        start = time.monotonic()
        if req.kind == "chat":
            assert req.messages is not None
            prompt = self.tokenizer.apply_chat_template([{"role": r, "content": c} for r, c in req.messages],
                                                        tokenize=False, add_generation_prompt=True)
        else:
            prompt = req.text or ""
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        torch.manual_seed(req.seed)
        sampling = req.temperature > 0
        with torch.no_grad():
            out = self.model.generate(
                **inputs, max_new_tokens=req.max_tokens, do_sample=sampling,
                temperature=req.temperature if sampling else None, top_p=req.top_p if sampling else None,
                top_k=None, stop_strings=list(req.stop) or None, tokenizer=self.tokenizer,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        new = out[0][inputs["input_ids"].shape[1]:]
        text = str(self.tokenizer.decode(new, skip_special_tokens=True))
        finish = "stop"
        for stop in req.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        if len(new) >= req.max_tokens and (len(new) == 0 or int(new[-1]) != self.tokenizer.eos_token_id):
            finish = "length"
        return Completion(text, finish, int(inputs["input_ids"].shape[1]), len(new), time.monotonic() - start)

    def close(self) -> None:
        """Drop the model."""
        del self.model


@backend("hf")
def _hf(rest: str, options: BackendOptions) -> Backend:
    if not rest:
        raise UsageError("hf: needs a model directory or GGUF file, e.g. hf:./out/merged")
    return TransformersBackend(rest, options)
