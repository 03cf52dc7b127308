"""Training and evaluation throughput of lenet_jax's paper model next to a plain LeNet-5 written
the Flax-examples way and in PyTorch, measured side by side in one process.

  .venv/bin/python benchmarks/bench.py                         # full run: aims at 3-5 min, 2 cores
  .venv/bin/python benchmarks/bench.py --repeats=1 --steps=50  # a smoke test
  .venv/bin/python benchmarks/bench.py --json=bench.json       # also write the numbers as JSON
  .venv/bin/python benchmarks/bench.py --pairs=5               # only: 8 seeds vs one seed

A sweep's wall time is predicted by benchmarks/predict_sweep.py. The rows are in lenet_rows.py
(lenet_jax) and plain.py (Flax, PyTorch), measured by throughput.py (the table), seeds_pairs.py
(--pairs) and children.py (the rows that need a process of their own).

What is measured (each number is the median over --repeats timed windows; warm-up excluded):
  lenet_jax    the paper model (lenet_jax.config.paper_config(): partial C3, trainable
               subsampling, RBF output, MAP loss, SDLM) through the library's own step
               functions (lenet_jax.lanes.Programs):
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
import sys

# Two rows run in child processes with the XLA flags launch.py sets for them (read when JAX's
# backend starts): the seeds trained together on one XLA CPU device per core (a single model
# runs ~20% slower on a split host, so the other rows keep one device), and batch 128 without
# XLA CPU's YNNPACK fusions (which help at batch 1).
# Every process also gets the XLA CPU flags launch.py sets for every run; on an accelerator,
# like launch.py, none of them.
from lenet_jax import devices  # pylint: disable=g-import-not-at-top
for _arg in sys.argv:
  if _arg.startswith("--pin_core="):   # before JAX starts a thread, as launch.py --cpu_core
    devices.pin(int(_arg.split("=", 1)[1]))
devices.set_xla_flags(many_models="--child=lanes" in sys.argv,
                      large_batches="--child=b128" in sys.argv)

import children  # pylint: disable=g-import-not-at-top
from lenet_jax.config import paper_config
import seeds_pairs
import throughput
from timing import EVAL_BATCH, LARGE

# bench.py --predict_sweep and its options, moved to benchmarks/predict_sweep.py.
MOVED = ("--predict_sweep", "--predict_from", "--sweep_seeds", "--sweep_epochs", "--sweep_workers",
         "--sweep_args")


def _parser() -> argparse.ArgumentParser:
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
  p.add_argument("--mnist_dir", default="",
                 help="folder of the four MNIST IDX files, or tfds (default: $LENET_MNIST_DIR, "
                      "else the copy in the repository, lenet_jax/mnist)")
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
  p.add_argument("--pin_core", type=int, default=-1, help=argparse.SUPPRESS)  # read at import
  p.add_argument("--child", choices=("", "lanes", "b128", "b1"), default="",
                 help=argparse.SUPPRESS)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="", help="also write the numbers to this JSON file")
  return p


def parse_args(argv=None):
  p = _parser()
  moved = [a.split("=", 1)[0] for a in (sys.argv[1:] if argv is None else argv)
           if a.split("=", 1)[0] in MOVED]
  if moved:
    p.error(f"{moved[0]} has moved: a sweep's wall time is predicted by "
            "benchmarks/predict_sweep.py --sweep=NAME (and its --seeds, --epochs, --workers, "
            "--sweep_args)")
  args = p.parse_args(argv)
  if args.steps:
    args.steps_b1 = args.steps_b128 = args.steps
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


def main(argv=None):
  args = parse_args(argv)
  if args.child:
    children.run_child(args)
  elif args.pairs:
    seeds_pairs.run(args)
  else:
    throughput.run(args)


if __name__ == "__main__":
  main()
