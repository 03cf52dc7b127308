"""Training and evaluation throughput of lenet_jax's paper model next to a plain LeNet-5 written
the Flax-examples way and in PyTorch, measured side by side in one process.

  .venv/bin/python benchmarks/bench.py                         # full run: aims at 3-5 min, 2 cores
  .venv/bin/python benchmarks/bench.py --repeats=1 --steps=50  # a smoke test
  .venv/bin/python benchmarks/bench.py --json=bench.json       # also write the numbers as JSON
  .venv/bin/python benchmarks/bench.py --pairs=5               # only: 8 seeds vs one seed
  .venv/bin/python benchmarks/bench.py --predict_sweep=paper_ablations --sweep_workers=2
                                                               # a sweep's wall time, predicted

What is measured (each number is the median over --repeats timed windows; warm-up excluded):
  lenet_jax    the paper model (lenet_jax.config.paper_config(): partial C3, trainable
               subsampling, RBF output, MAP loss, SDLM) through the library's own step functions (lenet_jax.lanes.Programs):
               `train_steps` (many steps scanned inside one jitted call, data on the device), and
               at batch 128 also one step per Python call, both as train_and_evaluate runs it
               (`train_step_at`) and through `train_step`; evaluation
               (`evaluate_batch` on batches of 1000).
  flax loop    a plain LeNet-5 (full C3, tanh, average pooling, linear output, softmax
               cross-entropy, optax SGD) in flax.linen, one jitted step per Python call, fed
               NumPy batches from the host: the loop of the Flax examples.
  torch        the same plain LeNet-5 in PyTorch on the CPU, tensors already in memory, the
               standard zero_grad / backward / step loop. Optional: torch is not a requirement of
               lenet_jax (pip install torch==2.13.0 to include it).

The paper model does more work per step than the plain one (RBF head, MAP loss over all classes,
a connection table in C3, SDLM's per-parameter scaling), so the ratios compare what a user of
each codebase gets, not identical arithmetic.
"""
from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
import platform
import resource
import statistics
import sys
import time

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]   # lenet_jax itself is pip-installed (-e .)

# Two rows run in child processes with the XLA flags launch.py sets for them (read when JAX's
# backend starts): the seeds trained together on one XLA CPU device per core (a single model
# runs ~20% slower on a split host, so the other rows keep one device), and batch 128 without
# XLA CPU's YNNPACK fusions (which help at batch 1).
# Every process also gets the XLA CPU flags launch.py sets for every run; on an accelerator,
# like launch.py, none of them.
from lenet_jax import devices  # pylint: disable=g-import-not-at-top
for _arg in sys.argv:
  if _arg.startswith("--pin_core="):   # before JAX starts a thread, as launch.py --cpu_core
    os.sched_setaffinity(0, {int(_arg.split("=", 1)[1])})
if not devices.accelerator_expected():
  devices.cpu_flags()
  if "--child=lanes" in sys.argv:
    devices.split_host()
  elif "--child=b128" in sys.argv:
    devices.large_batch_flags()

import flax  # pylint: disable=g-import-not-at-top
import flax.linen as nn
from flax.training import train_state
import jax
import jax.numpy as jnp
import jaxlib
import optax

from lenet_jax import data as data_lib
from lenet_jax.config import paper_config
from lenet_jax import step
from lenet_jax.files import write_json as write_json_atomic
from lenet_jax.lanes import Programs, lane_mesh, vmapped_together

try:
  import torch
except ImportError:  # optional: only the PyTorch rows need it
  torch = None

TORCH_MISSING = "torch not installed: pip install torch==2.13.0"
SMALL, LARGE = 1, 128   # the two batch sizes compared
EVAL_BATCH = 1000
PLAIN_LR = 0.01         # SGD with momentum 0.9, as in the Flax MNIST example; irrelevant to speed


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--repeats", type=int, default=5, help="timed windows per measurement (median)")
  p.add_argument("--steps", type=int, default=0,
                 help="steps per timed window at both batch sizes (0: --steps_b1 / --steps_b128)")
  p.add_argument("--steps_b1", type=int, default=2000, help="steps per timed window at batch 1")
  p.add_argument("--steps_b128", type=int, default=100,
                 help="steps per timed window at batch 128")
  p.add_argument("--chunk", type=int, default=1000,
                 help="lenet_jax scanned steps per jitted call (capped at the window's steps); "
                      "1000 is what train_and_evaluate uses at batch 1")
  p.add_argument("--eval_batches", type=int, default=10,
                 help=f"batches of {EVAL_BATCH} test images per timed evaluation window")
  p.add_argument("--warmup", type=int, default=20,
                 help="untimed steps after the first call (per-call loops)")
  p.add_argument("--train_size", type=int, default=5000, help="MNIST training images loaded")
  p.add_argument("--mnist_dir", default=str(REPO_ROOT.parent / "shared" / "data" / "mnist"),
                 help="folder of the four MNIST IDX files (never downloaded)")
  p.add_argument("--torch_threads", type=int, default=0,
                 help="torch.set_num_threads (0: PyTorch's default, one per core). On an "
                      "oversubscribed machine 1 avoids OpenMP's spin-waiting collapse")
  p.add_argument("--lanes", type=int, default=8,
                 help="seeds trained together in the batch-1 seeds row (--seeds of launch.py)")
  p.add_argument("--lane_group", type=int, default=0,
                 help="config.lane_group of the seeds row (0: all of a device's lanes in one vmap, "
                      "launch.py's default)")
  p.add_argument("--pairs", type=int, default=0,
                 help="if > 0, measure only the seeds ratio: this many alternating pairs of "
                      "child processes, one seed (one XLA device, as launch.py trains one model) "
                      "then --lanes seeds (one device per core, as launch.py trains several), "
                      "each pair's ratio printed, and their median. Pairs taken minutes apart "
                      "see the same machine load, which a noisy shared machine needs")
  p.add_argument("--lane_groups", default="",
                 help="with --pairs: comma-separated lane_group values measured in every pair "
                      "(default: --lane_group)")
  p.add_argument("--predict_sweep", default="",
                 help="only: predict these sweeps' wall time (launch.py --sweep=NAME, "
                      "comma-separated) from two passes of each --predict_from experiment, run "
                      "as the sweep runs them (one program per experiment)")
  p.add_argument("--predict_from", default="c3_partial,c3_full,pool_max",
                 help="with --predict_sweep: the representative experiments timed")
  p.add_argument("--sweep_seeds", type=int, default=5, help="with --predict_sweep: --seeds")
  p.add_argument("--sweep_epochs", default="20",
                 help="with --predict_sweep: passes, comma-separated for several predictions")
  p.add_argument("--sweep_workers", type=int, default=1,
                 help="with --predict_sweep: launch.py's --sweep_workers (programs at a time, "
                      "each pinned to a core)")
  p.add_argument("--sweep_args", default="",
                 help="with --predict_sweep: more launch.py flags, space-separated "
                      "(--set=train_size=1000 for a quick check)")
  p.add_argument("--pin_core", type=int, default=-1, help=argparse.SUPPRESS)  # read at import
  p.add_argument("--child", choices=("", "lanes", "b128", "b1"), default="",
                 help=argparse.SUPPRESS)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="", help="also write the numbers to this JSON file")
  args = p.parse_args(argv)
  if args.steps:
    args.steps_b1 = args.steps_b128 = args.steps
  try:
    args.sweep_epochs = [int(e) for e in args.sweep_epochs.split(",")]
  except ValueError:
    p.error(f"--sweep_epochs must be comma-separated integers, got {args.sweep_epochs!r}")
  if min(args.sweep_epochs) < 2 or args.sweep_workers < 1 or args.sweep_seeds < 1:
    p.error("--sweep_epochs must be >= 2 (two passes are timed), --sweep_workers and "
            "--sweep_seeds >= 1")
  if args.torch_threads < 0:
    p.error("--torch_threads must be >= 0")
  if args.pairs < 0 or args.lane_group < 0:
    p.error("--pairs and --lane_group must be >= 0")
  try:
    args.lane_groups = [int(g) for g in args.lane_groups.split(",")] if args.lane_groups else [
        args.lane_group]
  except ValueError:
    p.error(f"--lane_groups must be comma-separated integers, got {args.lane_groups!r}")
  if any(g < 0 for g in args.lane_groups):
    p.error("--lane_groups must be >= 0")
  for name in ("repeats", "steps_b1", "steps_b128", "chunk", "eval_batches", "lanes"):
    if getattr(args, name) < 1:
      p.error(f"--{name} must be >= 1")
  if args.train_size < max(LARGE, paper_config().sdlm_samples):
    p.error(f"--train_size must be >= {max(LARGE, paper_config().sdlm_samples)} "
            "(SDLM's Hessian estimate samples that many images without replacement)")
  return args


# ----------------------------------------------------------------------------- the machine

def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def machine_info() -> dict:
  cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  info = {"cpu": cpu_model(), "cores": cores, "python": platform.python_version(),
          "jax": jax.__version__, "jaxlib": jaxlib.__version__, "flax": flax.__version__,
          "optax": optax.__version__, "numpy": np.__version__, "jax_device": str(jax.devices()[0]),
          "jax_platform": jax.devices()[0].platform,
          "load_average_1min": os.getloadavg()[0]}
  if torch is not None:
    info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
  else:
    info["torch"] = None
  return info


def print_machine(info):
  print(f"cpu     {info['cpu']} ({info['cores']} cores available)")
  torch_text = (f"torch {info['torch']} ({info['torch_threads']} threads)" if info["torch"]
                else "torch -")
  print(f"libs    python {info['python']}, jax {info['jax']}, jaxlib {info['jaxlib']}, "
        f"flax {info['flax']}, optax {info['optax']}, numpy {info['numpy']}, {torch_text}")
  print(f"device  {info['jax_device']}")
  load = info["load_average_1min"]
  print(f"load    {load:.2f} (1-min average at start)"
        + (" -- the machine is busy: numbers will be low and noisy" if load > 0.5 else ""))


# ----------------------------------------------------------------------------- timing

def block(tree):
  jax.block_until_ready(tree)
  return tree


def timed(fn):
  """fn() -> seconds it took; fn must block on its own results."""
  t0 = time.perf_counter()
  fn()
  return time.perf_counter() - t0


def summarise(seconds, steps, batch, *, compile_s=None, **extra) -> dict:
  """Per-window seconds -> medians (and the spread, to judge noise) in steps/s and images/s."""
  rates = sorted(steps / s for s in seconds)
  r = {"batch": batch, "steps_per_window": steps, "windows": len(seconds),
       "steps_per_s": statistics.median(rates), "images_per_s": statistics.median(rates) * batch,
       "steps_per_s_min": rates[0], "steps_per_s_max": rates[-1], "compile_s": compile_s}
  r.update(extra)
  return r


def finite(params) -> bool:
  # A diverged model computes on NaN/inf (and denormals on the way there), which can change the
  # speed of CPU arithmetic: flag it rather than report a silently different workload.
  return all(bool(np.isfinite(np.asarray(p)).all()) for p in jax.tree_util.tree_leaves(params))


# ----------------------------------------------------------------------------- lenet_jax

def paper_trainer(batch: int, train_size: int, mesh=None, lane_group: int = 0) -> Programs:
  """The paper model's step functions over lanes, as train_and_evaluate compiles them (one
  model is one lane)."""
  config = paper_config()
  config.batch_size = batch
  config.lane_group = lane_group
  return Programs(step.make_recipe(config, train_size // batch), mesh, lane_group)


def _lane(seed):
  c = paper_config()
  return dict(seed=seed, sdlm_mu=c.sdlm_mu, map_j=c.map_j, learning_rate=c.learning_rate)


def fresh_state(trainer, train_x, train_y, seed):
  """One model's initial state (a lane axis of 1) with SDLM's Hessian estimated once, as
  train_and_evaluate does before a pass. Its compilation is not part of any reported time."""
  state = trainer.init_lanes([_lane(seed)])
  return block(trainer.refresh(state, train_x, train_y, 0, 0))


def index_rows(rng, n_images, rows, batch):
  """(rows, batch) int32 indices into the on-device training set, cycling permutations."""
  order = np.concatenate([rng.permutation(n_images)
                          for _ in range(-(-rows * batch // n_images))])
  return jnp.asarray(order[:rows * batch].reshape(rows, batch).astype(np.int32))


def time_windows(args, run, state, steps, batch, warmup=None, **extra) -> dict:
  """run(state, n) -> state, timed: the first call (compile + one step) apart, a warm-up, then
  --repeats windows of `steps` steps."""
  t0 = time.perf_counter()
  state = run(state, 1)
  compile_s = time.perf_counter() - t0
  state = run(state, args.warmup if warmup is None else warmup)
  seconds = []
  for _ in range(args.repeats):
    t0 = time.perf_counter()
    state = run(state, steps)
    seconds.append(time.perf_counter() - t0)
  return summarise(seconds, steps, batch, compile_s=compile_s, finite=finite(state["params"]),
                   **extra)


def bench_lenet_scanned(args, batch, steps, train_x, train_y, rng) -> dict:
  """`train_steps`: `chunk` index rows per call (one compiled program), the first n used."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  chunk = min(args.chunk, steps)
  idx = index_rows(rng, train_x.shape[0], chunk, batch)[None]

  def run(state, n_steps):
    done = 0
    while done < n_steps:
      n = min(chunk, n_steps - done)
      state, _ = trainer.train_steps(state, train_x, train_y, idx, n)  # state is donated
      done += n
    return block(state)

  # n is dynamic, so a first call of one step compiles the same program the windows run; the
  # warm-up is one call of the same program.
  return time_windows(args, run, state, steps, batch, warmup=min(chunk, max(args.warmup, 1)),
                      steps_per_call=chunk)


def bench_lenet_lanes(args, n_lanes, steps, train_x, train_y, rng) -> dict:
  """`lane_train_steps`: n_lanes seeds of the paper model in one program (vmapped in groups of
  config.lane_group per device), batch 1 each, as `launch.py --seeds=N` trains them. Its "batch"
  is n_lanes: images/s are summed over seeds."""
  mesh = lane_mesh(n_lanes)
  trainer = paper_trainer(SMALL, train_x.shape[0], mesh, args.lane_group)
  if mesh is not None:
    train_x, train_y = jax.device_put((train_x, train_y), jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec()))
  lanes = [_lane(args.seed + k) for k in range(n_lanes)]
  state = trainer.init_lanes(lanes)
  state = trainer.refresh(state, train_x, train_y, 0, 0)
  chunk = min(args.chunk, steps)
  idx = jnp.stack([index_rows(rng, train_x.shape[0], chunk, SMALL) for _ in lanes])

  def run(state, n_steps):
    done = 0
    while done < n_steps:
      n = min(chunk, n_steps - done)
      state, _ = trainer.train_steps(state, train_x, train_y, idx, n)
      done += n
    return block(state)

  return time_windows(args, run, block(state), steps, n_lanes,
                      warmup=min(chunk, max(args.warmup, 1)), steps_per_call=chunk, lanes=n_lanes,
                      devices=1 if mesh is None else mesh.size,
                      lane_group=vmapped_together(args.lane_group,
                                                  n_lanes // (1 if mesh is None else mesh.size)))


def bench_lenet_per_call_rows(args, batch, steps, train_x, train_y, rng) -> dict:
  """One step per Python call exactly as train_and_evaluate runs batch >= 16: `train_step_at`,
  the batch gathered from the on-device set by its row of the pass's index order."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  idx = index_rows(rng, train_x.shape[0], steps, batch)[None]

  def run(state, n_steps):
    for i in range(n_steps):
      state, _ = trainer.train_step_at(state, train_x, train_y, idx, i % steps)
    return block(state)

  return time_windows(args, run, state, steps, batch)


def bench_lenet_train_step(args, batch, steps, train_x, train_y, rng) -> dict:
  """`train_step(state, (x, y))` once per Python call on batches already on the device (a pool
  gathered before the clock starts), so this is the step itself with no data movement."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = jax.tree.map(lambda v: v[0], fresh_state(trainer, train_x, train_y, args.seed))
  one_step = jax.jit(functools.partial(step.train_step, trainer.recipe), donate_argnums=0)
  pool = index_rows(rng, train_x.shape[0], min(steps, 32), batch)
  batches = block([(train_x[r], train_y[r]) for r in pool])

  def run(state, n_steps):
    for i in range(n_steps):
      state, _ = one_step(state, batches[i % len(batches)])
    return block(state)

  return time_windows(args, run, state, steps, batch)


def bench_lenet_eval(args, train_x, train_y, test_x, test_y) -> dict:
  """`evaluate_batch` on batches of 1000 test images, with freshly initialised parameters (the
  cost of a forward pass does not depend on their values)."""
  trainer = paper_trainer(SMALL, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  params, j = jax.tree.map(lambda v: v[0], (state["params"], state["map_j"]))
  evaluate = jax.jit(functools.partial(step.evaluate_batch, trainer.recipe))
  n_batches = test_x.shape[0] // EVAL_BATCH
  batches = [(test_x[i * EVAL_BATCH:(i + 1) * EVAL_BATCH],
              test_y[i * EVAL_BATCH:(i + 1) * EVAL_BATCH]) for i in range(n_batches)]

  def run(n):
    return block([evaluate(params, *batches[i % n_batches], j) for i in range(n)])

  compile_s = timed(lambda: run(1))
  run(2)
  seconds = [timed(lambda: run(args.eval_batches)) for _ in range(args.repeats)]
  return summarise(seconds, args.eval_batches, EVAL_BATCH, compile_s=compile_s)


# ----------------------------------------------------------------------------- Flax examples

class PlainLeNet5(nn.Module):
  """LeNet-5 as most tutorials write it: full C3, tanh, average pooling, a linear 10-way output."""

  @nn.compact
  def __call__(self, x):                                    # (batch, 32, 32, 1)
    x = nn.avg_pool(nn.tanh(nn.Conv(6, (5, 5), padding="VALID")(x)), (2, 2), (2, 2))
    x = nn.avg_pool(nn.tanh(nn.Conv(16, (5, 5), padding="VALID")(x)), (2, 2), (2, 2))
    x = nn.tanh(nn.Conv(120, (5, 5), padding="VALID")(x))   # (batch, 1, 1, 120)
    x = x.reshape((x.shape[0], -1))
    x = nn.tanh(nn.Dense(84)(x))
    return nn.Dense(10)(x)


@jax.jit
def flax_train_step(state, images, labels):
  """The Flax examples' step: value_and_grad of the mean softmax cross-entropy, then
  TrainState.apply_gradients. The loss stays on the device (not read back every step)."""
  def loss_fn(params):
    logits = state.apply_fn({"params": params}, images)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), loss


def bench_flax(args, batch, steps, train_x, train_y, rng) -> dict:
  """A Python loop over NumPy batches indexed from a host permutation, as the Flax examples'
  train_epoch does: the indexing and host-to-device copy are part of each step."""
  model = PlainLeNet5()
  params = model.init(jax.random.PRNGKey(args.seed), jnp.zeros((1, 32, 32, 1)))["params"]
  state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                        tx=optax.sgd(PLAIN_LR, momentum=0.9))
  n = train_x.shape[0]
  perm = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch // n))])
  perm = perm[:steps * batch].reshape(steps, batch)

  def run(state, n_steps):
    for i in range(n_steps):
      rows = perm[i % steps]
      state, _ = flax_train_step(state, train_x[rows], train_y[rows])
    return block(state)

  t0 = time.perf_counter()
  state = run(state, 1)
  compile_s = time.perf_counter() - t0
  state = run(state, args.warmup)
  seconds = []
  for _ in range(args.repeats):
    t0 = time.perf_counter()
    state = run(state, steps)
    seconds.append(time.perf_counter() - t0)
  return summarise(seconds, steps, batch, compile_s=compile_s, finite=finite(state.params))


# ----------------------------------------------------------------------------- PyTorch

def torch_lenet5():
  """The same plain LeNet-5 as PlainLeNet5, in PyTorch's NCHW layout."""
  tnn = torch.nn
  return tnn.Sequential(
      tnn.Conv2d(1, 6, 5), tnn.Tanh(), tnn.AvgPool2d(2),
      tnn.Conv2d(6, 16, 5), tnn.Tanh(), tnn.AvgPool2d(2),
      tnn.Conv2d(16, 120, 5), tnn.Tanh(), tnn.Flatten(),
      tnn.Linear(120, 84), tnn.Tanh(), tnn.Linear(84, 10))


def bench_torch(args, batch, steps, train_x, train_y, rng) -> dict:
  """The standard PyTorch loop on in-memory tensors (no DataLoader): index, zero_grad, forward,
  cross-entropy, backward, step. Eager CPU execution is synchronous, so no extra sync is needed."""
  torch.manual_seed(args.seed)
  model = torch_lenet5()
  opt = torch.optim.SGD(model.parameters(), lr=PLAIN_LR, momentum=0.9)
  x = torch.from_numpy(np.ascontiguousarray(train_x.transpose(0, 3, 1, 2)))   # NHWC -> NCHW
  y = torch.from_numpy(train_y.astype(np.int64))
  n = x.shape[0]
  perm = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch // n))])
  perm = torch.from_numpy(perm[:steps * batch].reshape(steps, batch))
  loss_fn = torch.nn.functional.cross_entropy

  def run(n_steps):
    for i in range(n_steps):
      rows = perm[i % steps]
      opt.zero_grad()
      loss = loss_fn(model(x[rows]), y[rows])
      loss.backward()
      opt.step()

  run(args.warmup)
  seconds = [timed(lambda: run(steps)) for _ in range(args.repeats)]
  ok = all(bool(torch.isfinite(p).all()) for p in model.parameters())
  return summarise(seconds, steps, batch, finite=ok)


# ----------------------------------------------------------------------------- report

# (key, label) in the order of the table.
ROWS = [
    ("lenet_jax_b1_scanned", "lenet_jax paper model, train_steps (scanned)"),
    ("flax_b1", "plain LeNet-5, Flax-examples loop"),
    ("torch_b1", "plain LeNet-5, PyTorch loop"),
    ("lenet_jax_b1_lanes", "lenet_jax paper model, N seeds in one program, b1"),
    ("lenet_jax_b1_workers", "  N seeds per core, a pinned process each"),
    ("lenet_jax_b128_scanned", "lenet_jax paper model, train_steps (scanned)"),
    ("lenet_jax_b128_per_call", "lenet_jax paper model, train_step_at 1/call"),
    ("lenet_jax_b128_launch", "  the same, XLA flags as launch.py sets them"),
    ("lenet_jax_b128_train_step", "lenet_jax paper model, train_step 1/call"),
    ("flax_b128", "plain LeNet-5, Flax-examples loop"),
    ("torch_b128", "plain LeNet-5, PyTorch loop"),
    ("lenet_jax_eval", "lenet_jax paper model, evaluate_batch"),
]

# (numerator, denominator) pairs printed as ratios of images/s.
RATIOS = [
    ("lenet_jax_b1_scanned", "flax_b1"), ("lenet_jax_b1_scanned", "torch_b1"),
    ("lenet_jax_b1_lanes", "lenet_jax_b1_scanned"), ("lenet_jax_b1_workers", "lenet_jax_b1_lanes"),
    ("lenet_jax_b128_scanned", "flax_b128"), ("lenet_jax_b128_scanned", "torch_b128"),
    ("lenet_jax_b128_per_call", "flax_b128"), ("lenet_jax_b128_per_call", "torch_b128"),
    ("lenet_jax_b128_launch", "flax_b128"), ("lenet_jax_b128_launch", "torch_b128"),
    ("lenet_jax_b128_train_step", "flax_b128"), ("lenet_jax_b128_train_step", "torch_b128"),
]


def print_table(results):
  label = dict(ROWS)
  print(f"\n{'what':48s} {'batch':>5s} {'steps/s':>9s} {'images/s':>9s} "
        f"{'spread (steps/s)':>18s} {'compile':>8s}")
  for key, text in ROWS:
    r = results.get(key)
    if r is None:
      continue
    spread = f"{r['steps_per_s_min']:.0f}-{r['steps_per_s_max']:.0f}"
    compile_text = "-" if r["compile_s"] is None else f"{r['compile_s']:.2f}s"
    warn = "" if r.get("finite", True) else "  (diverged: non-finite parameters)"
    print(f"{text:48s} {r['batch']:5d} {r['steps_per_s']:9.1f} {r['images_per_s']:9.0f} "
          f"{spread:>18s} {compile_text:>8s}{warn}")
  print("compile = first call (compilation plus one step, or one batch for evaluate_batch); "
        "steps/s and images/s are medians, spread is min-max over the windows.\n"
        "train_steps (scanned): many steps in one jitted loop (train_and_evaluate at batch < 16); "
        "train_step_at 1/call: one jitted step per call gathering its batch on the device "
        "(train_and_evaluate at batch >= 16), in this process and in a child with the XLA flags "
        "launch.py sets at batch >= 16 (YNNPACK fusions off); train_step 1/call: the jitted "
        "step alone, on batches already on the device.")

  print("\nratios of images/s (> 1: lenet_jax is faster)")
  ratios = {}
  for a, b in RATIOS:
    if a in results and b in results:
      ratios[f"{a}/{b}"] = results[a]["images_per_s"] / results[b]["images_per_s"]
      print(f"  {label[a]:48s} / {label[b]:36s} "
            f"b{results[a]['batch']:<4d} {ratios[f'{a}/{b}']:6.2f}")
  return ratios


def pinned_workers(args) -> dict:
  """--lanes seeds in each of one child process per core, each pinned to its core (one XLA
  device), all at once: what `launch.py --sweep_workers` runs. Images/s summed over them."""
  import json
  import subprocess
  cores = sorted(os.sched_getaffinity(0))
  children = [subprocess.Popen(_child_argv(args, "lanes") + [f"--pin_core={c}"],
                               stdout=subprocess.PIPE, text=True) for c in cores]
  rows = [json.loads(ch.communicate()[0].strip().splitlines()[-1]) for ch in children]
  if any(ch.returncode for ch in children):
    raise SystemExit("a pinned worker failed")
  total = sum(r["images_per_s"] for r in rows)
  return dict(rows[0], batch=args.lanes * len(rows), images_per_s=total,
              steps_per_s=total / (args.lanes * len(rows)),
              steps_per_s_min=sum(r["steps_per_s_min"] for r in rows) / len(rows),
              steps_per_s_max=sum(r["steps_per_s_max"] for r in rows) / len(rows),
              workers=len(rows), per_worker_images_per_s=[r["images_per_s"] for r in rows])


def _child_argv(args, child: str, **overrides) -> list[str]:
  """This benchmark's command line for a child measuring one row (`child`), with the options
  that row reads."""
  values = dict(vars(args), **overrides)
  return [sys.executable, str(Path(__file__).resolve()), f"--child={child}"] + [
      f"--{k}={v}" for k, v in values.items()
      if k not in ("json", "child", "pairs", "lane_groups", "pin_core") and not k.startswith(
          ("predict_", "sweep_"))]


def in_child(args, child: str, **overrides) -> dict:
  """A row measured by a child process started with the XLA flags launch.py would set for it."""
  import json
  import subprocess
  out = subprocess.run(_child_argv(args, child, **overrides), check=True, capture_output=True,
                       text=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def seeds_pairs(args) -> None:
  """The ablation issue's goal alone: --lanes seeds trained together (batch 1, each lane_group
  of --lane_groups) against one seed, in alternating child processes; ratios per pair and their
  median."""
  info = machine_info()
  print_machine(info)
  print(f"{args.pairs} pairs; per pair: one seed ({args.steps_b1} steps x {args.repeats} "
        f"windows), then {args.lanes} seeds ({args.steps_b1 // 4} steps x {args.repeats} windows) "
        f"for lane_group in {args.lane_groups}")
  rows = []
  t_start = time.perf_counter()
  for k in range(args.pairs):
    one = in_child(args, "b1")
    row = {"one_seed": one, "seeds": {}}
    text = [f"one seed {one['images_per_s']:7,.0f}"]
    for g in args.lane_groups:
      many = in_child(args, "lanes", lane_group=g)
      row["seeds"][g] = many
      text.append(f"{args.lanes} seeds (lane_group {g}: {many['lane_group']} vmapped) "
                  f"{many['images_per_s']:7,.0f} = {many['images_per_s'] / one['images_per_s']:.2f}x")
    rows.append(row)
    print(f"  pair {k + 1}: " + "; ".join(text) + " images/s", flush=True)
  summary = {}
  for g in args.lane_groups:
    ratios = [r["seeds"][g]["images_per_s"] / r["one_seed"]["images_per_s"] for r in rows]
    summary[g] = {"median_ratio": statistics.median(ratios), "ratios": ratios,
                  "median_images_per_s": statistics.median(
                      r["seeds"][g]["images_per_s"] for r in rows)}
    print(f"{args.lanes} seeds / one seed, lane_group {g}: median {summary[g]['median_ratio']:.2f}x "
          f"(pairs: {', '.join(f'{v:.2f}' for v in ratios)}); goal 3x")
  print(f"one seed: median {statistics.median(r['one_seed']['images_per_s'] for r in rows):,.0f} "
        f"images/s; measured in {time.perf_counter() - t_start:.0f}s")
  if args.json:
    write_json_atomic(args.json, {"machine": info, "args": vars(args), "pairs": rows,
                                  "summary": {str(g): v for g, v in summary.items()}})
    print(f"wrote {args.json}")


def _timed_pass(args, name: str, workdir: str, core) -> dict:
  """Two passes of `name` with --sweep_seeds seeds through launch.py (the first compiles), in a
  child process pinned to `core` (None: unpinned, as a one-process sweep runs it)."""
  import subprocess
  argv = [sys.executable, str(REPO_ROOT / "launch.py"), f"--experiment={name}",
          f"--seeds={args.sweep_seeds}", "--epochs=2", f"--mnist_dir={args.mnist_dir}",
          f"--workdir={workdir}", "--noprogress", "--overwrite", *args.sweep_args.split(),
          *([] if core is None else [f"--cpu_core={core}"])]
  t0 = time.perf_counter()
  child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO_ROOT)
  return {"child": child, "t0": t0, "workdir": workdir, "name": name}


def _collect(job) -> dict:
  import json
  _, err = job["child"].communicate()
  wall = time.perf_counter() - job["t0"]
  if job["child"].returncode != 0:
    raise SystemExit(f"{job['name']}: exit {job['child'].returncode}: {err.decode()[-500:]}")
  results = json.loads(Path(job["workdir"], "results.json").read_text())
  p = results["lanes"][0]["passes"][1]   # the timed pass: compiled already
  # A pass before the last one: without the training set's evaluation if train_eval says so
  # (the time of an evaluation is shared out by images).
  c = results["config"]
  held = results["test_images"] + c.get("validation", 0)
  share = held / (results["train_images"] + held) if c.get("train_eval") == "last_pass" else 1.0
  # setup: everything but one pass before the last (start-up, data, compiling, pass 1, and the
  # last pass's extra evaluation)
  mid_s = p["seconds"] + share * p["eval_seconds"]
  return {"experiment": job["name"], "wall_s": wall, "pass_s": mid_s, "train_s": p["seconds"],
          "eval_s": share * p["eval_seconds"], "setup_s": wall - mid_s}


def predict_sweep(args) -> dict:
  """Times two passes of each representative experiment (as many at once as the sweep has
  workers, pinned the same way), then predicts every experiment of the sweep as setup + passes x
  pass time (a representative's own numbers, else their medians) and the sweep as the longest
  worker's share when the programs are handed out in order to the first free worker."""
  import heapq
  import tempfile
  from lenet_jax import sweep as sweeps
  reps = [n for n in args.predict_from.split(",") if n]
  cores = sorted(os.sched_getaffinity(0))[:args.sweep_workers] if args.sweep_workers > 1 else [None]
  timed, tmp = {}, tempfile.mkdtemp(prefix="predict_sweep_")
  for start in range(0, len(reps), len(cores)):
    jobs = [_timed_pass(args, n, os.path.join(tmp, n), c)
            for n, c in zip(reps[start:start + len(cores)], cores)]
    for job in jobs:
      r = _collect(job)
      timed[r["experiment"]] = r
      print(f"  {r['experiment']}: one pass {r['pass_s']:.1f}s (training {r['train_s']:.1f}s, "
            f"evaluation {r['eval_s']:.1f}s), setup {r['setup_s']:.1f}s", flush=True)
  med = {k: statistics.median(r[k] for r in timed.values()) for k in ("pass_s", "setup_s")}
  predictions = []
  for sweep in args.predict_sweep.split(","):
    names = sweeps.get(sweep)
    for epochs in args.sweep_epochs:
      per = {n: timed.get(n, med)["setup_s"] + (epochs - 1) * timed.get(n, med)["pass_s"]
             for n in names}
      finish = [0.0] * len(cores)
      for n in names:            # the first free worker takes the next program
        heapq.heapreplace(finish, finish[0] + per[n])
      total = max(finish)
      print(f"predicted: --sweep={sweep} --seeds={args.sweep_seeds} --epochs={epochs} "
            f"--sweep_workers={args.sweep_workers}: {len(names)} experiments, "
            f"{total / 60:.1f} min ({total / 3600:.2f} h)")
      predictions.append({"sweep": sweep, "epochs": epochs, "per_experiment_s": per,
                          "predicted_s": total})
  return {"seeds": args.sweep_seeds, "workers": args.sweep_workers, "timed": timed,
          "predictions": predictions}


def main(argv=None):
  args = parse_args(argv)
  if args.predict_sweep:
    r = predict_sweep(args)
    if args.json:
      write_json_atomic(args.json, r)
    return
  if args.child:
    import json
    ds = data_lib.load_mnist(args.mnist_dir, train_size=args.train_size)
    x, y = block(jnp.asarray(ds.train_x)), block(jnp.asarray(ds.train_y))
    rng = np.random.default_rng(args.seed)
    if args.child == "lanes":
      r = bench_lenet_lanes(args, args.lanes, args.steps_b1 // 4, x, y, rng)
    elif args.child == "b1":
      r = bench_lenet_scanned(args, SMALL, args.steps_b1, x, y, rng)
    else:
      r = bench_lenet_per_call_rows(args, LARGE, args.steps_b128, x, y, rng)
    print(json.dumps(r))
    return
  if args.pairs:
    return seeds_pairs(args)
  if torch is not None and args.torch_threads:
    torch.set_num_threads(args.torch_threads)
  info = machine_info()
  print_machine(info)
  steps = {SMALL: args.steps_b1, LARGE: args.steps_b128}
  print(f"windows {args.repeats} per measurement; {steps[SMALL]} steps at batch {SMALL}, "
        f"{steps[LARGE]} at batch {LARGE}; {args.eval_batches} x {EVAL_BATCH} images for "
        f"evaluation; MNIST {args.train_size} training images from {args.mnist_dir}")
  if torch is None:
    print(TORCH_MISSING)

  ds = data_lib.load_mnist(args.mnist_dir, train_size=args.train_size)
  # lenet_jax keeps the data on the device (its Trainer gathers batches inside jitted code); the
  # Flax-examples loop and PyTorch take the host arrays.
  dev = {k: block(jnp.asarray(v)) for k, v in
         dict(train_x=ds.train_x, train_y=ds.train_y, test_x=ds.test_x, test_y=ds.test_y).items()}
  rng = np.random.default_rng(args.seed)

  jobs = [
      ("lenet_jax_b1_scanned", lambda: bench_lenet_scanned(
          args, SMALL, steps[SMALL], dev["train_x"], dev["train_y"], rng)),
      ("lenet_jax_b1_lanes", lambda: in_child(args, "lanes")),
      ("lenet_jax_b1_workers", lambda: pinned_workers(args)),
      ("flax_b1", lambda: bench_flax(args, SMALL, steps[SMALL], ds.train_x, ds.train_y, rng)),
      ("torch_b1", lambda: bench_torch(args, SMALL, steps[SMALL], ds.train_x, ds.train_y, rng)),
      ("lenet_jax_b128_scanned", lambda: bench_lenet_scanned(
          args, LARGE, steps[LARGE], dev["train_x"], dev["train_y"], rng)),
      ("lenet_jax_b128_per_call", lambda: bench_lenet_per_call_rows(
          args, LARGE, steps[LARGE], dev["train_x"], dev["train_y"], rng)),
      ("lenet_jax_b128_launch", lambda: in_child(args, "b128")),
      ("lenet_jax_b128_train_step", lambda: bench_lenet_train_step(
          args, LARGE, steps[LARGE], dev["train_x"], dev["train_y"], rng)),
      ("flax_b128", lambda: bench_flax(args, LARGE, steps[LARGE], ds.train_x, ds.train_y, rng)),
      ("torch_b128", lambda: bench_torch(args, LARGE, steps[LARGE], ds.train_x, ds.train_y,
                                         rng)),
      ("lenet_jax_eval", lambda: bench_lenet_eval(
          args, dev["train_x"], dev["train_y"], dev["test_x"], dev["test_y"])),
  ]
  results = {}
  t_start = time.perf_counter()
  for key, job in jobs:
    if key.startswith("torch") and torch is None:
      continue
    if key == "lenet_jax_b1_workers" and devices.accelerator_expected():
      continue   # CPU cores, one process each: not a way to share an accelerator
    t0 = time.perf_counter()
    results[key] = job()
    print(f"  measured {key} in {time.perf_counter() - t0:.1f}s", flush=True)

  ratios = print_table(results)
  if torch is None:
    print(f"  (no PyTorch ratios: {TORCH_MISSING})")
  peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB
  total_s = time.perf_counter() - t_start
  print(f"\npeak resident memory {peak_mib:.0f} MiB (whole process, all variants); "
        f"measured in {total_s:.0f}s")

  if args.json:
    write_json_atomic(args.json, {
        "machine": info, "args": vars(args), "results": results, "ratios": ratios,
        "peak_rss_mib": peak_mib, "seconds": total_s, "torch_note": None if torch else
        TORCH_MISSING})
    print(f"wrote {args.json}")


if __name__ == "__main__":
  main()
