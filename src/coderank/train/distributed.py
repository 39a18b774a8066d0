"""Data-parallel training: several processes under ``accelerate launch`` (torchrun), one model copy each.

The transformers ``Trainer`` does the parallel part itself once the launcher's environment is there (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``): DDP over gloo on a CPU or
NCCL on GPUs, each process a shard of every step's batches, the gradients averaged, the loss normalised by the
response tokens of all processes together. What this module adds:

- **The global batch stays what the user asked for.** ``--batch-size`` x ``--grad-accum`` sequences per optimizer
  step, whatever the number of processes: each process gets a share (:func:`split_global_batch`).
- **One writer.** Only the main process (rank 0) writes the manifest, the loss chart, the NOTICE, the base's
  config, the GGUF files and chooses the checkpoint; the Trainer already writes checkpoints from rank 0 only
  (each rank adds its own ``rng_state_N.pth``). The other ranks train, wait for the last checkpoint, and return.
- **Threads per process:** ``--threads`` (default: all cores) is for the machine, shared by its processes.
- **The launch itself** for ``coderank train --num-processes N`` (:func:`launch_command`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any

from coderank.errors import CoderankError, UsageError, install_hint

_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
_LOCAL_SIZE_VARS = ("LOCAL_WORLD_SIZE", "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "MV2_COMM_WORLD_LOCAL_SIZE")
_RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")
QUIET_EXIT_DELAY_S = 5.0
"""How long a process other than the main one waits before it exits on an error every process hits alike."""


def _env_int(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return default


def launched() -> bool:
    """Whether this process is one of several started by a launcher (accelerate launch, torchrun, mpirun)."""
    return _env_int(_SIZE_VARS, 1) > 1


def env_rank() -> int:
    """The rank the launcher gave the current process (0 when not launched); readable before any process group."""
    return _env_int(_RANK_VARS, 0)


@dataclass
class World:
    """The processes training together.

    Attributes:
        size: Processes in all (1: no launcher).
        rank: This process's index (0 is the main process, the only writer).
        local_size: Processes on this machine (they share its cores).
        backend: ``gloo`` or ``nccl`` (None for one process).
    """

    size: int = 1
    rank: int = 0
    local_size: int = 1
    backend: str | None = None
    _state: Any = None

    @property
    def is_main(self) -> bool:
        """The process that writes the outputs (rank 0)."""
        return self.rank == 0

    @classmethod
    def join(cls, cuda: bool) -> World:
        """The processes the current one trains with: itself alone, or the launcher's, with the process group started.

        Raises:
            CoderankError: the process group cannot be formed (accelerate missing, a wrong launch).
        """
        size = _env_int(_SIZE_VARS, 1)
        if size <= 1:
            return cls()
        try:
            from accelerate import PartialState
        except ImportError as exc:
            raise CoderankError("training on several processes needs accelerate (missing)",
                                install_hint("train")) from exc
        # The Trainer's own TrainingArguments build the same state again and find the process group formed.
        state = PartialState(cpu=not cuda)
        return cls(size=state.num_processes, rank=state.process_index,
                   local_size=max(1, _env_int(_LOCAL_SIZE_VARS, state.num_processes)), backend=str(state.backend),
                   _state=state)

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self._state is not None:
            self._state.wait_for_everyone()

    def gather(self, value: Any) -> list[Any]:
        """``value`` of every process, in rank order (picklable objects)."""
        if self._state is None:
            return [value]
        import torch.distributed as dist

        values: list[Any] = [None] * self.size
        dist.all_gather_object(values, value)
        return values

    def close(self) -> None:
        """End the process group (after the last collective step)."""
        if self._state is None:
            return
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        self._state = None

    def record(self, per_device: int, accum: int, global_batch: int, threads: int) -> dict[str, Any]:
        """What the manifest keeps about the processes and how the global batch was split."""
        return {"world_size": self.size, "processes_per_machine": self.local_size, "backend": self.backend,
                "global_batch": global_batch, "per_device_batch_size": per_device,
                "grad_accum_per_process": accum, "threads_per_process": threads}


def split_global_batch(batch_size: int, grad_accum: int, processes: int) -> tuple[int, int]:
    """``(sequences per forward pass, forward passes per step)`` for each of ``processes`` processes.

    The global batch ``batch_size * grad_accum`` is kept: each process gets ``global / processes`` sequences per
    optimizer step, in forward passes of at most ``batch_size`` sequences (the largest that divides its share).
    With ``grad_accum`` a multiple of ``processes`` that is ``batch_size`` sequences and ``grad_accum / processes``
    passes: the micro-batches are exactly those one process would accumulate, dealt round-robin to the processes.

    Raises:
        UsageError: the global batch cannot be divided evenly.
    """
    total = batch_size * grad_accum
    if total % processes:
        raise UsageError(f"--batch-size {batch_size} x --grad-accum {grad_accum} = {total} sequences per step cannot "
                         f"be shared evenly by {processes} processes",
                         "make batch-size x grad-accum (the global batch) a multiple of the number of processes")
    share = total // processes
    per_device = max(d for d in range(1, batch_size + 1) if share % d == 0)
    return per_device, share // per_device


def threads_per_process(threads: int | None, local_size: int) -> int:
    """CPU threads for each of ``local_size`` processes sharing a machine (``threads``: the machine's; None: all)."""
    total = threads or os.cpu_count() or 1
    return max(1, total // max(1, local_size))


def lone_cpu_launch_warning() -> str | None:
    """A warning when ``accelerate launch --cpu --num_processes N`` started a single process.

    accelerate's CPU launcher starts more than one process only through mpirun (``--mpirun_hostfile``); without
    it the command runs the script once, with ``MASTER_ADDR`` set and no world size.
    """
    cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    if cpu and "MASTER_ADDR" in os.environ and not launched():
        return ("accelerate launch --cpu started one process (its CPU launcher forks several only through mpirun): "
                "training alone; use coderank train --num-processes N, or accelerate launch --multi_gpu "
                "--num_processes N, which runs torchrun with gloo on a CPU")
    return None


def check_launchable(processes: int) -> None:
    """Refuse ``--num-processes`` where it cannot work, before anything is started.

    Raises:
        UsageError: inside a launched process already.
        CoderankError: accelerate is not installed.
    """
    if launched():
        raise UsageError("--num-processes was given inside a process that a launcher started already",
                         "give either --num-processes or accelerate launch, not both")
    if importlib.util.find_spec("accelerate") is None:
        raise CoderankError(f"--num-processes {processes} needs accelerate, which is not installed",
                            install_hint("train"))


def launch_command(processes: int, train_args: list[str], cuda_devices: int) -> list[str]:
    """The ``accelerate launch`` command that runs ``coderank train TRAIN_ARGS`` on ``processes`` processes.

    On GPUs one process per device; on a CPU ``--multi_gpu`` is what makes accelerate start torchrun (its
    ``--cpu`` launcher runs one process), and each process then joins a gloo group because coderank trains on the
    CPU where there is no GPU. Port 0 lets the launcher pick a free one.

    Raises:
        UsageError: more processes than GPUs on a GPU machine.
    """
    if cuda_devices and processes > cuda_devices:
        raise UsageError(f"--num-processes {processes} but this machine has {cuda_devices} GPUs",
                         f"use at most {cuda_devices} (one process per GPU)")
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
            "--quiet", "-m", "coderank", "train", *train_args]
