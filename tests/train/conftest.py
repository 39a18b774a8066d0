"""Fixtures for the training tests: a tiny randomly initialised Qwen2 model built locally (no download).

The tiny model has the real architecture (so PEFT, TRL, the checkpoint code and the LoRA converter see what
they see with the embedded model) but two layers of width 32 and a 400-token byte-level BPE vocabulary trained
here in milliseconds, with Qwen's ChatML markers and chat template.
"""

import json
import os
from pathlib import Path

import pytest

from coderank.train._convert import tools_cache

# The converters are fetched once per machine, not once per test: keep the real cache across the isolated homes.
_TOOLS_CACHE = os.environ.get("CODERANK_TOOLS_CACHE") or str(tools_cache())

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

ROWS = [
    {"instruction": "Write a function add(a, b) that returns the sum.", "output": "def add(a, b):\n    return a + b\n"},
    {"instruction": "Reverse a string s.", "output": "def rev(s):\n    return s[::-1]\n"},
    {"instruction": "Return the maximum of a list.", "input": "xs = [3, 1, 2]", "output": "max(xs)"},
    {"messages": [{"role": "user", "content": "Square x."}, {"role": "assistant", "content": "x * x"}]},
]


@pytest.fixture(autouse=True)
def _shared_tools_cache(monkeypatch):
    monkeypatch.setenv("CODERANK_TOOLS_CACHE", _TOOLS_CACHE)


def build_tiny_model(folder: Path, vocab_size: int = 400) -> Path:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = [r.get("instruction", "") + r.get("output", "") for r in ROWS] * 20
    corpus += ["Below is an instruction that describes a task. ### Instruction: ### Response: def return"] * 20
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                                pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    config = transformers.Qwen2Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


def write_rows(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


@pytest.fixture
def data_file(tmp_path) -> Path:
    return write_rows(tmp_path / "data.jsonl")


@pytest.fixture(scope="module")
def module_data_file(tmp_path_factory) -> Path:
    return write_rows(tmp_path_factory.mktemp("data") / "data.jsonl")
