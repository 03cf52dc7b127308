"""The throughput table (bench.py's default): every row measured in turn, printed with the ratios
of lenet_jax's images/s to the plain LeNet-5's, and written as JSON with --json."""
from __future__ import annotations

import os
import resource
import time

import jax.numpy as jnp
import numpy as np

from children import in_child, pinned_workers
from lenet_jax import data as data_lib
from lenet_jax import devices
from lenet_jax.files import write_json as write_json_atomic
import lenet_rows
from machine import machine_info, print_machine
from plain import TORCH_MISSING, bench_flax, bench_torch, torch
from timing import EVAL_BATCH, LARGE, SMALL, block


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


def _jobs(args, ds, rng) -> list:
  """(key, function measuring that row) in the order measured."""
  steps = {SMALL: args.steps_b1, LARGE: args.steps_b128}
  # lenet_jax keeps the data on the device (its Trainer gathers batches inside jitted code); the
  # Flax-examples loop and PyTorch take the host arrays.
  dev = {k: block(jnp.asarray(v)) for k, v in
         dict(train_x=ds.train_x, train_y=ds.train_y, test_x=ds.test_x, test_y=ds.test_y).items()}
  x, y = dev["train_x"], dev["train_y"]
  return [
      ("lenet_jax_b1_scanned", lambda: lenet_rows.bench_lenet_scanned(
          args, SMALL, steps[SMALL], x, y, rng)),
      ("lenet_jax_b1_lanes", lambda: in_child(args, "lanes")),
      ("lenet_jax_b1_workers", lambda: pinned_workers(args)),
      ("flax_b1", lambda: bench_flax(args, SMALL, steps[SMALL], ds.train_x, ds.train_y, rng)),
      ("torch_b1", lambda: bench_torch(args, SMALL, steps[SMALL], ds.train_x, ds.train_y, rng)),
      ("lenet_jax_b128_scanned", lambda: lenet_rows.bench_lenet_scanned(
          args, LARGE, steps[LARGE], x, y, rng)),
      ("lenet_jax_b128_per_call", lambda: lenet_rows.bench_lenet_per_call_rows(
          args, LARGE, steps[LARGE], x, y, rng)),
      ("lenet_jax_b128_launch", lambda: in_child(args, "b128")),
      ("lenet_jax_b128_train_step", lambda: lenet_rows.bench_lenet_train_step(
          args, LARGE, steps[LARGE], x, y, rng)),
      ("flax_b128", lambda: bench_flax(args, LARGE, steps[LARGE], ds.train_x, ds.train_y, rng)),
      ("torch_b128", lambda: bench_torch(args, LARGE, steps[LARGE], ds.train_x, ds.train_y,
                                         rng)),
      ("lenet_jax_eval", lambda: lenet_rows.bench_lenet_eval(
          args, x, y, dev["test_x"], dev["test_y"])),
  ]


def _measure(jobs) -> dict:
  """{key: row} of the jobs this machine runs, each timed as it goes."""
  results = {}
  for key, job in jobs:
    if key.startswith("torch") and torch is None:
      continue
    if key == "lenet_jax_b1_workers" and devices.accelerator_expected():
      continue   # CPU cores, one process each: not a way to share an accelerator
    t0 = time.perf_counter()
    results[key] = job()
    print(f"  measured {key} in {time.perf_counter() - t0:.1f}s", flush=True)
  return results


def run(args) -> None:
  """Measures every row this machine runs, prints the table and ratios, writes --json."""
  if torch is not None and args.torch_threads:
    torch.set_num_threads(args.torch_threads)
  info = machine_info()
  print_machine(info)
  source = args.mnist_dir or os.environ.get(data_lib.ENV_VAR) or data_lib.REPO_DIR
  print(f"windows {args.repeats} per measurement; {args.steps_b1} steps at batch {SMALL}, "
        f"{args.steps_b128} at batch {LARGE}; {args.eval_batches} x {EVAL_BATCH} images for "
        f"evaluation; MNIST {args.train_size} training images from {source}")
  if torch is None:
    print(TORCH_MISSING)

  ds = data_lib.load_mnist(args.mnist_dir or None, train_size=args.train_size)
  jobs = _jobs(args, ds, np.random.default_rng(args.seed))
  t_start = time.perf_counter()
  results = _measure(jobs)
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
