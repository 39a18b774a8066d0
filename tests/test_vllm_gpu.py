"""vLLM replicas behind ``--base-url`` with ``--served-model``, on a GPU: two ``vllm serve`` processes, one eval.

Needs vllm, an NVIDIA GPU and a small local model directory (a Hugging Face checkpoint with its tokenizer, e.g.
Qwen2.5-Coder-0.5B-Instruct) named by ``CODERANK_VLLM_MODEL``; it skips, saying which is missing, otherwise.
With two GPUs or more each replica gets its own (``CUDA_VISIBLE_DEVICES``); on one GPU both share it, each
with a third of its memory, started one after the other (vLLM sizes its cache from the memory free at start).

    CODERANK_VLLM_MODEL=/models/Qwen2.5-Coder-0.5B-Instruct pytest -m gpu tests/test_vllm_gpu.py
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(1800)]

MODEL_ENV = "CODERANK_VLLM_MODEL"
API_NAME = "coder"  # --served-model-name: the API model id both replicas answer to


def _needs() -> tuple[str, str, list[str]]:
    """The model directory, the vllm command and the GPUs to use; skips with the reason when one is missing."""
    model = os.environ.get(MODEL_ENV)
    if not model:
        pytest.skip(f"set {MODEL_ENV} to a small local model directory (a Hugging Face checkpoint, e.g. "
                    "Qwen2.5-Coder-0.5B-Instruct) to run the vLLM replica test")
    if not (Path(model) / "config.json").is_file():
        pytest.skip(f"{MODEL_ENV}={model} is not a Hugging Face model directory (no config.json)")
    vllm = shutil.which("vllm")
    if vllm is None:
        pytest.skip("vllm is not installed (pip install vllm, on a machine with an NVIDIA GPU)")
    smi = shutil.which("nvidia-smi")
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout if smi else ""
    if not any(line.startswith("GPU ") for line in listed.splitlines()):
        pytest.skip("no NVIDIA GPU (nvidia-smi lists none)")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = [d for d in visible.split(",") if d] if visible else [
        str(i) for i, line in enumerate(listed.splitlines()) if line.startswith("GPU ")]
    if not gpus:
        pytest.skip("CUDA_VISIBLE_DEVICES hides every GPU")
    return str(Path(model).resolve()), vllm, gpus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def _wait_ready(proc: subprocess.Popen, port: int, log: Path, limit: float = 900) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vllm serve on port {port} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if API_NAME in _get(f"http://127.0.0.1:{port}/v1/models"):
                return
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"vllm serve on port {port} was not ready after {limit:.0f} s:\n{log.read_text()[-4000:]}")


def _successes(port: int) -> float:
    """Requests the server finished (vLLM's Prometheus counter ``vllm:request_success_total``, every label)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in _get(f"http://127.0.0.1:{port}/metrics").splitlines()
               if line.startswith("vllm:request_success_total"))


def _eval(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "coderank", "eval", "-m", f"openai:{API_NAME}", "--max-tokens",
                           "256", "--json", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout))


def test_eval_on_two_vllm_replicas_is_one_run_with_one_cache(tmp_path):
    model, vllm, gpus = _needs()
    ports = [_free_port()]
    while len(ports) < 2:
        ports = list(dict.fromkeys([*ports, _free_port()]))
    shared = len(gpus) == 1  # both replicas on one GPU
    procs: list[subprocess.Popen] = []
    try:
        for i, port in enumerate(ports):
            log = tmp_path / f"vllm-{port}.log"
            with log.open("w") as sink:  # the child keeps its own copy of the descriptor
                procs.append(subprocess.Popen(
                    [vllm, "serve", model, "--host", "127.0.0.1", "--port", str(port), "--served-model-name",
                     API_NAME, "--max-model-len", "4096", "--enforce-eager",
                     "--gpu-memory-utilization", "0.3" if shared else "0.85"],
                    env=dict(os.environ, CUDA_VISIBLE_DEVICES=gpus[0 if shared else i]), stdout=sink,
                    stderr=subprocess.STDOUT, start_new_session=True))
            if shared:  # one after the other: the second sizes its cache from what the first left free
                _wait_ready(procs[-1], port, log)
        for proc, port in zip(procs, ports, strict=True):
            _wait_ready(proc, port, tmp_path / f"vllm-{port}.log")
        urls = [f"http://127.0.0.1:{p}/v1" for p in ports]

        first = _eval("--base-url", ",".join(urls), "--served-model", model, "--limit", "5")
        assert first["samples"] == 5 and first["generated"] == 5
        assert first["manifest"]["model"] == {"backend": "openai-compatible", "model": API_NAME,
                                              "served_model": model}
        assert first["manifest"]["servers"] == sorted(urls)
        assert [_successes(p) for p in ports] == [3, 2]  # request i went to replica i mod 2

        # one replica alone: the same run (nothing asked); one more problem: the five answers from the cache
        alone = _eval("--base-url", urls[1], "--served-model", model, "--limit", "5")
        assert alone["run_id"] == first["run_id"] and alone["already_finished"]
        more = _eval("--base-url", urls[1], "--served-model", model, "--limit", "6")
        assert (more["cached"], more["generated"]) == (5, 1)
        assert [_successes(p) for p in ports] == [3, 3]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
