"""Rows measured in child processes of bench.py, which start with the XLA flags launch.py would
set for them (read when JAX's backend starts, so not changeable in a running process)."""
from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import jax.numpy as jnp
import numpy as np

from lenet_jax import data as data_lib
import lenet_rows
from timing import LARGE, SMALL, block

BENCH = Path(__file__).resolve().with_name("bench.py")
# Options a child does not read: the parent's output, mode and pinning.
PARENT_ONLY = ("json", "child", "pairs", "lane_groups", "pin_core")


def child_argv(args, child: str, **overrides) -> list[str]:
  """This benchmark's command line for a child measuring one row (`child`), with the options
  that row reads."""
  values = dict(vars(args), **overrides)
  return [sys.executable, str(BENCH), f"--child={child}"] + [
      f"--{k}={v}" for k, v in values.items() if k not in PARENT_ONLY]


def in_child(args, child: str, **overrides) -> dict:
  """A row measured by a child process started with the XLA flags launch.py would set for it."""
  out = subprocess.run(child_argv(args, child, **overrides), check=True, capture_output=True,
                       text=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def pinned_workers(args) -> dict:
  """--lanes seeds in each of one child process per core, each pinned to its core (one XLA
  device), all at once: what `launch.py --sweep_workers` runs. Images/s summed over them."""
  cores = sorted(os.sched_getaffinity(0))
  children = [subprocess.Popen(child_argv(args, "lanes") + [f"--pin_core={c}"],
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


def run_child(args) -> None:
  """In the child: measures its row (--child) and prints it as the last line, in JSON."""
  ds = data_lib.load_mnist(args.mnist_dir or None, train_size=args.train_size)
  x, y = block(jnp.asarray(ds.train_x)), block(jnp.asarray(ds.train_y))
  rng = np.random.default_rng(args.seed)
  if args.child == "lanes":
    r = lenet_rows.bench_lenet_lanes(args, args.lanes, args.steps_b1 // 4, x, y, rng)
  elif args.child == "b1":
    r = lenet_rows.bench_lenet_scanned(args, SMALL, args.steps_b1, x, y, rng)
  else:
    r = lenet_rows.bench_lenet_per_call_rows(args, LARGE, args.steps_b128, x, y, rng)
  print(json.dumps(r))
