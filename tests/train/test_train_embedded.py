"""Fine-tuning the embedded 0.5B model for real: a checkpoint, a SIGKILL, a real resume, the GGUF adapter in
llama.cpp, a real evaluation, the same greedy text through transformers, and a choice of checkpoint on a dev set.

Slow (the GGUF dequantizes in ~45 s per load, a step takes seconds): CI runs it with `-m slow`.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

ROWS = [
    {"instruction": "Write a Python function `add(a, b)` that returns the sum of two numbers.",
     "output": "```python\ndef add(a, b):\n    return a + b\n```"},
    {"instruction": "Write a Python function `is_even(n)` that returns True when n is even.",
     "output": "```python\ndef is_even(n):\n    return n % 2 == 0\n```"},
    {"instruction": "Write a Python function `reverse_words(s)` that reverses the order of the words in s.",
     "output": "```python\ndef reverse_words(s):\n    return ' '.join(reversed(s.split()))\n```"},
    {"instruction": "Write a Python function `count_vowels(s)` that counts the vowels in s.",
     "output": "```python\ndef count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')\n```"},
]
ARGS = ["--max-steps", "4", "--save-steps", "2", "--batch-size", "1", "--grad-accum", "1", "--max-len", "128"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Train 4 steps in a subprocess, SIGKILL it after the step-2 checkpoint, then resume in-process."""
    folder = tmp_path_factory.mktemp("embedded")
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = folder / "out"
    log = (folder / "first.log").open("w")
    env = dict(os.environ, CODERANK_HOME=str(folder / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "coderank", "train", str(data), "--out", str(out), *ARGS],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    marker = out / "checkpoints" / "checkpoint-2" / "coderank-base.json"  # written once the checkpoint is complete
    deadline = time.monotonic() + 1200
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    log.close()
    assert proc.returncode == -signal.SIGKILL, (folder / "first.log").read_text()[-3000:]
    assert not (out / "checkpoints" / "checkpoint-4").exists() and not (out / "adapter.gguf").exists()
    return folder, data, out


@pytest.fixture(scope="module")
def resumed(run):
    from coderank.train import TrainConfig, train

    folder, data, out = run
    result = train(TrainConfig(data=data, out=out, max_steps=4, save_steps=2, batch_size=1, grad_accum=1,
                               max_len=128))
    return folder, data, out, result


def test_a_killed_training_resumes_from_its_checkpoint(resumed):
    _, _, out, result = resumed
    assert result.resumed_from == "checkpoint-2" and result.steps_this_run == 2
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "done" and m["progress"]["steps_done"] == 4
    assert [s["resumed_from"] for s in m["sessions"]] == [None, "checkpoint-2"]
    assert m["sessions"][0]["last_step"] == 2 and m["sessions"][1]["last_step"] == 4
    assert [s for s, _ in m["loss"]] == [1, 2, 3, 4]
    assert m["base"]["sha256"] == "sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert m["hyperparameters"]["dtype"] in ("bf16", "fp32") and m["progress"]["tokens_per_second"] > 0
    assert m["progress"]["peak_rss_bytes"] < 8 << 30  # one copy of the base weights (3.5-7 GiB measured)
    assert m["outputs"]["model_specs"] == [f"lora:{out}", f"hf:{out}"]
    assert m["outputs"]["gguf"]["file"] == "adapter.gguf" and (out / "adapter.gguf").stat().st_size > 1 << 20
    assert (out / "loss.png").is_file()
    config = json.loads((out / "base" / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["Qwen2ForCausalLM"]


def test_the_adapter_evaluates_through_llama_cpp(resumed, cli):
    _, _, out, result = resumed
    code, stdout, err = cli("eval", "-m", f"lora:{out}", "-b", "classic", "--limit", "2", "--max-tokens", "256",
                            "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["samples"] == 2 and doc["generated"] == 2 and "no_code" not in doc["status_counts"]
    model = doc["manifest"]["model"]
    assert model["backend"] == "llama.cpp" and model["weights_sha256"] == result.manifest.base["sha256"]
    assert model["adapter_sha256"] == result.manifest.outputs["gguf"]["sha256"]


def test_gguf_adapter_and_transformers_adapter_give_the_same_greedy_text(resumed):
    from coderank.models.backends import Request, load_backend

    _, _, out, _ = resumed
    req = Request("chat", None, (("user", "Write a Python function `square(x)` that returns x squared."),), 24,
                  0.0, 1.0, (), 0)
    texts = {}
    for spec in (f"lora:{out}", f"hf:{out}"):
        backend = load_backend(spec)
        try:
            [(_, comp)] = list(backend.generate([req]))
            texts[spec] = comp.text
        finally:
            backend.close()
    assert texts[f"lora:{out}"] == texts[f"hf:{out}"], texts


def test_select_on_a_dev_set_scores_every_checkpoint_and_records_the_choice(resumed, tmp_path, cli):
    from coderank.problems import load_benchmark

    _, data, out, _ = resumed
    classic = load_benchmark("classic")
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point,
                                       "test": p.test}) + "\n" for p in list(classic)[:2]))
    code, stdout, err = cli("train", str(data), "--out", str(out), *ARGS, "--select-on", str(dev),
                            "--select-max-tokens", "256", "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    sel = doc["selection"]
    assert doc["steps_this_run"] == 0 and set(sel["scores"]) == {"checkpoint-2", "checkpoint-4"}
    assert sel["chosen"] in sel["scores"] and sel["dev_set"]["test_overlap"] == 0
    assert sel["dev_set"]["test_selection_allowed"] is False and sel["dev_set"]["problems"] == 2
    assert doc["outputs"]["from_checkpoint"] == sel["chosen"]
    assert (out / "checkpoints" / "checkpoint-2" / "adapter.gguf").is_file()
