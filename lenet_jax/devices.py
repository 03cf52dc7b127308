"""How JAX sees the host's processors, set before JAX starts its backend."""
from __future__ import annotations

import importlib.util
import os

from lenet_jax import config as config_lib

FLAG = "--xla_force_host_platform_device_count"
# Below this many images per model, convolutions run as im2col + matmul (ops.conv2d), faster
# on CPU for small batches while XLA's own convolution wins for large ones (the same sums either
# way; benchmarks/RESULTS.md).
IM2COL_MAX_BATCH = 16


# JAX's accelerator plugins (jax[cuda12], jax[cuda13], jax[rocm], jax[tpu]).
ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin",
                       "jax_rocm7_plugin", "libtpu")


def accelerator_expected() -> bool:
  """Whether JAX will run on an accelerator, decided without starting its backend (the CPU
  flags below must be set before that): JAX_PLATFORMS if set, else whether an accelerator
  plugin is installed. On an accelerator the CPU heuristics are left out."""
  platforms = os.environ.get("JAX_PLATFORMS", "").strip()
  if platforms:
    return platforms.split(",")[0].strip() not in ("cpu", "")
  return any(importlib.util.find_spec(m) is not None for m in ACCELERATOR_PLUGINS)


# What each accelerator JAX_PLATFORMS may name needs: one of these plugins, the pip extra that
# installs one, and one of the device files JAX looks for before it starts that backend (None:
# the plugin alone decides). "gpu" is either of cuda and rocm, as in JAX.
PLATFORM_NEEDS = {
    "cuda": (("jax_cuda12_plugin", "jax_cuda13_plugin"), "jax[cuda12]",
             ("/dev/nvidia0", "/dev/nvidiactl", "/dev/dxg")),
    "rocm": (("jax_rocm60_plugin", "jax_rocm7_plugin"), "jax[rocm]", ("/dev/kfd", "/dev/dxg")),
    "tpu": (("libtpu",), "jax[tpu]", None),
}
PLATFORM_ALIASES = {"gpu": ("cuda", "rocm")}


def _installed(module: str) -> bool:
  return importlib.util.find_spec(module) is not None


def _visible(path: str) -> bool:
  return os.path.exists(path)


def _missing(platform: str) -> str | None:
  """Why JAX cannot start `platform` here (None: it may), judged without starting JAX."""
  plugins, extra, device_files = PLATFORM_NEEDS[platform]
  if not any(_installed(p) for p in plugins):
    return f"no {platform} plugin is installed ({extra})"
  if device_files and not any(_visible(f) for f in device_files):
    return f"no {platform} device is visible ({' or '.join(device_files)} absent)"
  return None


def check_platforms() -> None:
  """ValueError (one line naming JAX_PLATFORMS and the fix) if none of the platforms it names
  can start here: JAX would stop at its first computation with a bare AssertionError (cuda
  without a GPU) or a RuntimeError. Names this does not know are left for JAX to judge."""
  value = os.environ.get("JAX_PLATFORMS", "").strip()
  names = [n.strip().lower() for n in value.split(",") if n.strip()]
  known = ("cpu", *PLATFORM_NEEDS, *PLATFORM_ALIASES)
  if not names or any(n == "cpu" or n not in known for n in names):
    return
  wanted = [p for n in names for p in PLATFORM_ALIASES.get(n, (n,))]
  why = {p: _missing(p) for p in dict.fromkeys(wanted)}
  if all(why.values()):
    extras = " or ".join(PLATFORM_NEEDS[p][1] for p in why)
    raise ValueError(f"JAX_PLATFORMS={value}: {' and '.join(why.values())}; unset JAX_PLATFORMS "
                     f"(or set it to cpu) to run on the CPU, or install {extras} on a machine "
                     "with that accelerator")


def _add_xla_flag(flag: str, value) -> None:
  """Appends flag=value to XLA_FLAGS unless XLA_FLAGS already sets the flag (the user's wins)."""
  current = os.environ.get("XLA_FLAGS", "")
  if flag not in current:
    os.environ["XLA_FLAGS"] = f"{current} {flag}={value}".strip()


def split_host(cores: int | None = None) -> None:
  """Makes XLA's CPU backend expose one device per core (unless XLA_FLAGS already sets it).

  A LeNet-5 step at batch 1 is too small to split over cores, but models trained together are
  independent, so each core trains its share of the lanes (lenet_jax.lanes shards the lane
  axis); a single model runs slower on a split host, so launch.py splits it only when several
  models train (benchmarks/RESULTS.md). Only the host platform is affected. Must run before
  JAX's backend starts (the first computation), or it has no effect.
  """
  if cores is None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  _add_xla_flag(FLAG, cores)


YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
REGION_FLAG = "--xla_cpu_copy_insertion_use_region_analysis"


def cpu_flags() -> None:
  """XLA CPU flags for every run (unless XLA_FLAGS already sets them): copy insertion with region
  analysis, which lets the training loop update C5's and F6's weights in place instead of
  copying them every step (benchmarks/RESULTS.md). Must run before JAX's backend starts."""
  _add_xla_flag(REGION_FLAG, "true")


def large_batch_flags() -> None:
  """Turns off XLA CPU's YNNPACK fusions (unless XLA_FLAGS already sets them), for runs whose
  batches are all large: at batch 128 the step runs faster without them, at batch 1 they help
  (benchmarks/RESULTS.md). Must run before JAX's backend starts."""
  _add_xla_flag(YNN_FLAG, "")


def set_xla_flags(many_models: bool = False, large_batches: bool = False,
                  deterministic: bool = False) -> None:
  """The XLA flag policy of every entry point (launch.py, bench.py, the tests), in one place.
  Unless an accelerator will run the model: the CPU flags for every run, one CPU device per core
  when several models train together (a single model runs slower on a split host), YNNPACK's
  fusions off when every batch is large. `deterministic`: deterministic reductions on GPU. Must
  run before JAX's backend starts."""
  if not accelerator_expected():   # XLA CPU heuristics, measured on CPU only
    cpu_flags()
    if many_models:
      split_host()
    if large_batches:
      large_batch_flags()
  if deterministic:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_gpu_deterministic_ops=true").strip()


def pin(core: int | None) -> None:
  """Pins this process to one CPU core (None: leaves it), so that XLA sees one device; before
  JAX starts a thread, since every thread it starts inherits the mask. A device count that
  XLA_FLAGS inherited (a sweep's coordinator) is replaced by 1: two devices on one core only
  time-slice it. ValueError naming the cores it may use if `core` is not one of them."""
  if core is None:
    return
  cores = sorted(os.sched_getaffinity(0))
  if core not in cores:
    raise ValueError(f"--cpu_core={core}: this process may use cores {cores}; give one of them")
  os.sched_setaffinity(0, {core})
  kept = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(FLAG + "=")]
  os.environ["XLA_FLAGS"] = " ".join(kept + [f"{FLAG}=1"])


def start(configs, deterministic: bool = False, force_distributed: bool = False) -> bool:
  """The XLA flags for training these configs (set_xla_flags; the baselines among them train no
  network), then jax.distributed when several processes run (start_distributed); whether it
  started. Must run before JAX's backend starts."""
  trains = [c for c in configs if "seeds" in c]
  set_xla_flags(many_models=any(config_lib.lane_count(c) > 1 for c in trains),
                large_batches=bool(trains) and all(c.batch_size >= IM2COL_MAX_BATCH
                                                   for c in trains),
                deterministic=deterministic)
  return start_distributed(force_distributed)


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
