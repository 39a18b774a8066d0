"""Data-parallel training: ``coderank train --num-processes N`` and ``accelerate launch -m coderank train``.

The fast tests cover the batch split, the threads, the launch command and the refusals. The slow ones train the
tiny model on two CPU processes (torchrun, gloo) and compare with one process at the same global batch.

Tolerance of the comparison: :data:`LOSS_TOLERANCE` per step, absolute. The two runs see the same sequences at
every step (accelerate's seedable sampler draws the same permutation from ``--seed``; each process takes every
other micro-batch of it), LoRA dropout is off (each process would draw its own masks) and the weights are fp32.
What is left is float arithmetic: the loss is normalised by the response tokens of both processes, each scales
its loss by 2 and DDP averages the two gradients, which for two processes is ``(2a + 2b) / 2``, exactly
``a + b``, the sum one process accumulates. So the curves agree to the bit here (measured: 0.0 at every step);
the tolerance leaves room for the reduction order of more processes or chunked all-reduces, still four orders
below the step-to-step change of this loss.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coderank.errors import UsageError
from coderank.train import TrainConfig, train
from coderank.train.distributed import (
    World,
    launch_command,
    lone_cpu_launch_warning,
    split_global_batch,
    threads_per_process,
)

LOSS_TOLERANCE = 1e-5
_LAUNCH_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE",
                "MV2_COMM_WORLD_SIZE", "MASTER_ADDR", "ACCELERATE_USE_CPU")


@pytest.fixture(autouse=True)
def _not_launched(monkeypatch):
    for name in _LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("batch", "accum", "processes", "split"), [
    (2, 4, 1, (2, 4)), (2, 4, 2, (2, 2)), (2, 2, 2, (2, 1)), (2, 1, 2, (1, 1)), (4, 1, 2, (2, 1)), (2, 3, 3, (2, 1)),
    (3, 2, 2, (3, 1)), (3, 4, 4, (3, 1)),
])
def test_the_global_batch_is_shared_out_and_kept(batch, accum, processes, split):
    assert split_global_batch(batch, accum, processes) == split
    assert split[0] * split[1] * processes == batch * accum and split[0] <= batch


def test_a_global_batch_that_does_not_divide_is_refused():
    with pytest.raises(UsageError, match="3 sequences per step cannot be shared evenly by 2 processes"):
        split_global_batch(3, 1, 2)


def test_the_machines_threads_are_shared_by_its_processes():
    assert threads_per_process(4, 2) == 2 and threads_per_process(3, 2) == 1 and threads_per_process(1, 4) == 1
    assert threads_per_process(None, 1) == (os.cpu_count() or 1)


def test_without_a_launcher_the_world_is_this_process_alone():
    world = World.join(cuda=False)
    assert (world.size, world.rank, world.is_main, world.backend) == (1, 0, True, None)
    assert world.gather("x") == ["x"]
    world.barrier()
    world.close()
    assert world.record(2, 4, 8, 2) == {"world_size": 1, "processes_per_machine": 1, "backend": None,
                                        "global_batch": 8, "per_device_batch_size": 2, "grad_accum_per_process": 4,
                                        "threads_per_process": 2}


def test_accelerate_launch_cpu_starting_one_process_is_pointed_out(monkeypatch):
    assert lone_cpu_launch_warning() is None
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    assert "started one process" in lone_cpu_launch_warning()
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert lone_cpu_launch_warning() is None


def test_more_processes_than_gpus_is_refused():
    with pytest.raises(UsageError, match="has 2 GPUs"):
        launch_command(4, [], cuda_devices=2)
    command = launch_command(2, ["data.jsonl"], cuda_devices=0)
    assert command[:4] == [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    assert command[-4:] == ["-m", "coderank", "train", "data.jsonl"]


@pytest.fixture
def launches(monkeypatch):
    """The commands ``coderank train --num-processes`` starts (none is run)."""
    calls = []

    def call(command, env=None):
        calls.append((command, env))
        tmp = Path(env["TMPDIR"])  # the launch's own temporary directory (torchrun leaves folders in it) ...
        assert tmp.is_dir() and tmp.name.startswith("coderank-launch-")
        (tmp / "torchelastic_x" / "attempt_0").mkdir(parents=True)  # ... as torchrun does
        return 0

    monkeypatch.setattr("coderank.cli.train.subprocess.call", call)
    return calls


@pytest.fixture
def configs(monkeypatch):
    """The TrainConfig each in-process ``coderank train`` builds (training itself is skipped)."""
    seen = []

    class Stop(Exception):
        pass

    def fake(config, progress=None):
        seen.append(config)
        raise Stop

    monkeypatch.setattr("coderank.train.train", fake)
    return seen, Stop


def test_num_processes_runs_accelerate_launch_with_the_same_options(cli, launches, configs, tmp_path):
    opts = ["data.jsonl", "--out", str(tmp_path / "o"), "--max-steps", "7", "--lr", "0.001", "--no-resume",
            "--batch-size", "2", "--grad-accum", "4", "--threads", "4", "--no-gguf", "--json"]
    code, out, err = cli("train", *opts, "--num-processes", "2")
    assert code == 0, err
    [(command, env)] = launches
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    launcher = command[3:command.index("coderank")]
    assert launcher[:3] == ["--multi_gpu", "--num_processes", "2"] and launcher[-1] == "-m"
    forwarded = command[command.index("coderank") + 2:]
    assert "--num-processes" not in forwarded and "--epochs" not in forwarded  # defaults stay defaults
    assert env["OMP_NUM_THREADS"] == "2"
    assert not Path(env["TMPDIR"]).exists()  # removed after the launch, with what the launcher left in it
    assert "launching: accelerate launch --multi_gpu --num_processes 2" in err
    # The launched command builds the same configuration as the user's own, without --num-processes.
    seen, stop = configs
    with pytest.raises(stop):
        cli("train", *forwarded)
    with pytest.raises(stop):
        cli("train", *opts)
    assert seen[0] == seen[1] and seen[0].max_steps == 7 and seen[0].resume is False and seen[0].gguf is False


def test_num_processes_one_trains_here(cli, launches, configs, tmp_path):
    seen, stop = configs
    with pytest.raises(stop):
        cli("train", "data.jsonl", "--out", str(tmp_path / "o"), "--num-processes", "1")
    assert not launches and len(seen) == 1


@pytest.mark.parametrize(("extra", "needle"), [
    (["--num-processes", "0"], "--num-processes must be at least 1"),
    (["--num-processes", "2", "--batch-size", "3", "--grad-accum", "1"], "cannot be shared evenly by 2 processes"),
    (["--num-processes", "2", "--lr", "-1"], "--lr must be positive"),
])
def test_num_processes_refuses_before_launching(cli, launches, tmp_path, extra, needle):
    code, _, err = cli("train", "data.jsonl", "--out", str(tmp_path / "o"), *extra)
    assert code == 2 and needle in err and not launches


def test_num_processes_inside_a_launched_process_is_refused(cli, launches, monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = cli("train", "data.jsonl", "--out", str(tmp_path / "o"), "--num-processes", "2")
    assert code == 2 and "not both" in err and not launches


def test_num_processes_without_accelerate_says_what_to_install(cli, launches, monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real(name, *a))
    code, _, err = cli("train", "data.jsonl", "--out", str(tmp_path / "o"), "--num-processes", "2")
    assert code == 2 and "needs accelerate, which is not installed" in err and "hint:" in err
    assert "Traceback" not in err and not launches


def test_other_processes_print_no_summary(cli, monkeypatch, data_file, tmp_path):
    from coderank.train import TrainManifest, TrainResult

    monkeypatch.setattr("coderank.train.train", lambda config, progress=None: TrainResult(
        tmp_path, TrainManifest(), is_main=False))
    code, out, err = cli("train", str(data_file), "--out", str(tmp_path / "o"), "--json")
    assert (code, out, err) == (0, "", "")


def test_other_processes_leave_a_refusal_to_the_main_one(cli, monkeypatch, tiny_model, data_file, tmp_path):
    pytest.importorskip("trl")
    monkeypatch.setenv("RANK", "1")  # rank 1 exits quietly, with the refusal's status
    monkeypatch.setattr("coderank.train.distributed.QUIET_EXIT_DELAY_S", 0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "precious.txt").write_text("x")
    code, out, err = cli("train", str(data_file), "--out", str(tmp_path / "full"), "--base", str(tiny_model))
    assert (code, out, err) == (2, "", "")


# --- two processes, for real -----------------------------------------------------------------------------------

# Six steps of 4 sequences over 16 rows of different lengths: the order matters, and step 5 starts the 2nd epoch.
OPTIONS = {"max_steps": 6, "batch_size": 2, "grad_accum": 2, "max_len": 64, "save_steps": 3, "gguf": False,
           "lora_dropout": 0.0, "dtype": "fp32", "lr": 1e-2}
FLAGS = ["--max-steps", "6", "--batch-size", "2", "--grad-accum", "2", "--max-len", "64", "--save-steps", "3",
         "--no-gguf", "--lora-dropout", "0", "--dtype", "fp32", "--lr", "0.01", "--json"]


@pytest.fixture(scope="module")
def rows_file(tmp_path_factory):
    rows = [{"instruction": f"Write a function f{i}(x) that returns x plus {i}.",
             "output": f"def f{i}(x):\n    return x + {i}\n" + "# done\n" * (i % 3)} for i in range(16)]
    path = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_coderank(args, cwd, launcher=None, timeout=300):
    """``python -m coderank train ARGS`` (or under ``launcher``), as a user runs it; ``(status, json, stderr)``."""
    (cwd / "tmp").mkdir(exist_ok=True)  # a temporary directory to look at afterwards
    env = {**os.environ, "CODERANK_HOME": str(cwd / "home"), "PYTHONWARNINGS": "ignore", "TMPDIR": str(cwd / "tmp")}
    command = [sys.executable, *(launcher or []), "-m", "coderank", "train", *args]
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    doc = json.loads(proc.stdout) if proc.returncode == 0 else None  # one document: only the main process prints
    return proc.returncode, doc, proc.stderr


@pytest.fixture(scope="module")
def one_process(tiny_model, rows_file, tmp_path_factory):
    pytest.importorskip("trl")
    return train(TrainConfig(data=rows_file, out=tmp_path_factory.mktemp("one") / "out", base=str(tiny_model),
                             **OPTIONS))


@pytest.fixture(scope="module")
def two_processes(tiny_model, rows_file, tmp_path_factory):
    pytest.importorskip("trl")
    pytest.importorskip("accelerate")
    cwd = tmp_path_factory.mktemp("two")
    code, doc, err = run_coderank([str(rows_file), "--out", "out", "--base", str(tiny_model), *FLAGS,
                                   "--num-processes", "2"], cwd)
    assert code == 0, err
    assert list((cwd / "tmp").iterdir()) == []  # torchrun's torchelastic_* folder went with the launch's own
    return cwd / "out", doc, err


def adapter(folder):
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def assert_same_adapter(a, b):
    import torch

    a, b = adapter(a), adapter(b)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=LOSS_TOLERANCE)


def assert_same_curve(loss_a, loss_b):
    assert [s for s, _ in loss_a] == [s for s, _ in loss_b] == [1, 2, 3, 4, 5, 6]
    gaps = [abs(x - y) for (_, x), (_, y) in zip(loss_a, loss_b, strict=True)]
    assert max(gaps) <= LOSS_TOLERANCE, gaps


@pytest.mark.slow
def test_two_processes_follow_the_loss_curve_of_one_at_the_same_global_batch(one_process, two_processes):
    out, doc, err = two_processes
    m = doc["manifest"]
    assert_same_curve(one_process.manifest.loss, m["loss"])
    steps = [x for _, x in m["loss"]]
    assert max(steps) - min(steps) > 100 * LOSS_TOLERANCE  # the curve moves: equal curves are not flat ones
    assert_same_adapter(one_process.out, out)
    assert m["distributed"] == {"world_size": 2, "processes_per_machine": 2, "backend": "gloo", "global_batch": 4,
                                "per_device_batch_size": 2, "grad_accum_per_process": 1,
                                "threads_per_process": m["device"]["threads"]}
    assert one_process.manifest.distributed["world_size"] == 1
    assert one_process.manifest.distributed["grad_accum_per_process"] == 2
    assert [s["world_size"] for s in m["sessions"]] == [2] and m["status"] == "done"
    assert m["hyperparameters"] == one_process.manifest.hyperparameters  # so either may resume the other
    # One writer: each progress line once, one summary; both ranks' RNG states in each checkpoint.
    for step in range(1, 7):
        assert err.count(f"step {step}/6 ") == 1, err
    assert err.count("done: ") == 1
    for name in ("checkpoint-3", "checkpoint-6"):
        ckpt = out / "checkpoints" / name
        assert (ckpt / "rng_state_0.pth").is_file() and (ckpt / "rng_state_1.pth").is_file()
        assert (ckpt / "coderank-base.json").is_file()
    assert (out / "loss.png").is_file() and (out / "coderank-base.json").is_file()
    assert m["checkpoints"] == ["checkpoint-3", "checkpoint-6"] and m["selection"]["chosen"] == "checkpoint-6"


def crashed_copy(out, folder):
    """The folder a crash after checkpoint 3 leaves behind."""
    shutil.copytree(out, folder)
    shutil.rmtree(folder / "checkpoints" / "checkpoint-6")
    for f in ("adapter_model.safetensors", "adapter_config.json"):
        (folder / f).unlink()
    return folder


@pytest.mark.slow
def test_accelerate_launch_resumes_a_two_process_run(two_processes, tiny_model, rows_file, tmp_path):
    out, doc, _ = two_processes
    crashed_copy(out, tmp_path / "out")
    launcher = ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]
    code, again, err = run_coderank([str(rows_file), "--out", "out", "--base", str(tiny_model), *FLAGS], tmp_path,
                                    launcher)
    assert code == 0, err
    assert again["resumed_from"] == "checkpoint-3" and again["steps_this_run"] == 3
    m = again["manifest"]
    assert [s["world_size"] for s in m["sessions"]] == [2, 2] and m["sessions"][-1]["first_step"] == 3
    assert_same_curve(doc["manifest"]["loss"], m["loss"])
    assert_same_adapter(out, tmp_path / "out")


@pytest.mark.slow
def test_one_process_resumes_a_two_process_run(two_processes, tiny_model, rows_file, tmp_path):
    out, doc, _ = two_processes
    folder = crashed_copy(out, tmp_path / "out")
    again = train(TrainConfig(data=rows_file, out=folder, base=str(tiny_model), **OPTIONS))
    assert again.resumed_from == "checkpoint-3" and again.steps_this_run == 3
    assert [s["world_size"] for s in again.manifest.sessions] == [2, 1]
    assert again.manifest.distributed["world_size"] == 1
    assert_same_curve(doc["manifest"]["loss"], again.manifest.loss)
    assert_same_adapter(out, folder)
