"""How JAX sees the host's processors, set before JAX starts its backend."""
from __future__ import annotations

import os

FLAG = "--xla_force_host_platform_device_count"
# Below this many images per model, convolutions run as im2col + matmul (ops.conv2d), faster
# on CPU for small batches while XLA's own convolution wins for large ones (the same sums either
# way; benchmarks/RESULTS.md).
IM2COL_MAX_BATCH = 16


def _add_xla_flag(flag: str, value) -> None:
  """Appends flag=value to XLA_FLAGS unless XLA_FLAGS already sets the flag (the user's wins)."""
  current = os.environ.get("XLA_FLAGS", "")
  if flag not in current:
    os.environ["XLA_FLAGS"] = f"{current} {flag}={value}".strip()


def split_host(cores: int | None = None) -> None:
  """Makes XLA's CPU backend expose one device per core (unless XLA_FLAGS already sets it).

  XLA runs a LeNet-5 step at batch 1 on one core: its ops are too small to split. Models
  trained together (lanes: --seeds, --vary, sweeps) are independent, so with one device per core
  each core trains its own share of them (train.py shards the lane axis over the devices). On
  this project's 2-core machine (quiet), 8 seeds at batch 1 went from 4,308 to 9,018 images/s
  summed, but a single model slowed from 3,292 to 2,645 steps/s, so launch.py splits the host
  only when several models train. Only the host platform is affected: on a GPU or TPU machine
  the accelerators stay the default devices. Must run before JAX's backend starts (the first
  computation), or it has no effect.
  """
  if cores is None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  _add_xla_flag(FLAG, cores)


YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
REGION_FLAG = "--xla_cpu_copy_insertion_use_region_analysis"


def cpu_flags() -> None:
  """XLA CPU flags for every run (unless XLA_FLAGS already sets them): copy insertion with region
  analysis, which lets the training loop update C5's and F6's weights in place instead of
  copying them every step (copy instructions in the compiled loop: 8 seeds 24 -> 18, one
  model 16 -> 10). At batch 1, interleaved windows in one process on this project's 2-core
  Intel Xeon: one model 2,567 -> 3,102 images/s, 8 seeds 6,315 -> 7,218; in whole launch.py
  runs the gain was inside the noise (benchmarks/RESULTS.md). Must run before JAX's backend
  starts."""
  _add_xla_flag(REGION_FLAG, "true")


def large_batch_flags() -> None:
  """Turns off XLA CPU's YNNPACK fusions (unless XLA_FLAGS already sets them), for runs whose
  batches are all large. At batch 128 the paper model's step ran ~1.3x faster without them
  (5,700-6,400 vs 7,300-8,200 images/s, three alternating pairs on this project's 2-core
  machine), while at batch 1 they help. Must run before JAX's backend starts."""
  _add_xla_flag(YNN_FLAG, "")


# Read by launch.py (the first is also read by jax.distributed itself).
PROCESS_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


def start_distributed(force: bool = False) -> bool:
  """Starts jax.distributed when the environment describes several processes: JAX_NUM_PROCESSES,
  JAX_PROCESS_ID and JAX_COORDINATOR_ADDRESS (host:port of process 0), or a SLURM or Open MPI
  job of several tasks, whose variables JAX reads itself. `force` starts it anyway, for the
  clusters JAX detects on its own (Cloud TPU pods, Kubernetes). Returns whether it started.
  Must run before JAX's backend starts."""
  env = os.environ
  cluster = any(env.get(v, "1").isdigit() and int(env.get(v, "1")) > 1
                for v in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))
  if not (force or cluster or any(env.get(v) for v in PROCESS_VARS)):
    return False
  kwargs = {}
  for var, arg in (("JAX_NUM_PROCESSES", "num_processes"), ("JAX_PROCESS_ID", "process_id")):
    if env.get(var):
      try:
        kwargs[arg] = int(env[var])
      except ValueError:
        raise ValueError(f"{var}={env[var]!r} is not an integer") from None
  import jax
  try:
    jax.distributed.initialize(**kwargs)
  except (ValueError, TypeError) as e:
    raise ValueError(
        f"cannot start a multi-process run ({e}): set JAX_COORDINATOR_ADDRESS=host:port (of "
        "process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID on every process, or run under "
        "SLURM or Open MPI") from None
  return True
