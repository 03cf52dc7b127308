"""Seeds against one seed (bench.py --pairs): --lanes seeds trained together at batch 1 against
one seed, in alternating child processes, so that pairs minutes apart see the same machine load."""
from __future__ import annotations

import statistics
import time

from children import in_child
from lenet_jax.files import write_json as write_json_atomic
from machine import machine_info, print_machine


def _pair(args, k: int) -> dict:
  """Pair k: one seed, then --lanes seeds for each lane group, printed when it ends."""
  one = in_child(args, "b1")
  row = {"one_seed": one, "seeds": {}}
  text = [f"one seed {one['images_per_s']:7,.0f}"]
  for g in args.lane_groups:
    many = in_child(args, "lanes", lane_group=g)
    row["seeds"][g] = many
    ratio = many["images_per_s"] / one["images_per_s"]
    text.append(f"{args.lanes} seeds (lane_group {g}: {many['lane_group']} vmapped) "
                f"{many['images_per_s']:7,.0f} = {ratio:.2f}x")
  print(f"  pair {k + 1}: " + "; ".join(text) + " images/s", flush=True)
  return row


def _summary(args, rows) -> dict:
  """Per lane group, the pairs' ratios and their median, printed."""
  summary = {}
  for g in args.lane_groups:
    ratios = [r["seeds"][g]["images_per_s"] / r["one_seed"]["images_per_s"] for r in rows]
    summary[g] = {"median_ratio": statistics.median(ratios), "ratios": ratios,
                  "median_images_per_s": statistics.median(
                      r["seeds"][g]["images_per_s"] for r in rows)}
    print(f"{args.lanes} seeds / one seed, lane_group {g}: "
          f"median {summary[g]['median_ratio']:.2f}x "
          f"(pairs: {', '.join(f'{v:.2f}' for v in ratios)}); goal 3x")
  return summary


def run(args) -> None:
  """The ablation issue's goal alone: --lanes seeds trained together (batch 1, each lane_group
  of --lane_groups) against one seed, in alternating child processes; ratios per pair and their
  median."""
  info = machine_info()
  print_machine(info)
  print(f"{args.pairs} pairs; per pair: one seed ({args.steps_b1} steps x {args.repeats} "
        f"windows), then {args.lanes} seeds ({args.steps_b1 // 4} steps x {args.repeats} windows) "
        f"for lane_group in {args.lane_groups}")
  t_start = time.perf_counter()
  rows = [_pair(args, k) for k in range(args.pairs)]
  summary = _summary(args, rows)
  one = statistics.median(r["one_seed"]["images_per_s"] for r in rows)
  print(f"one seed: median {one:,.0f} images/s; measured in "
        f"{time.perf_counter() - t_start:.0f}s")
  if args.json:
    write_json_atomic(args.json, {"machine": info, "args": vars(args), "pairs": rows,
                                  "summary": {str(g): v for g, v in summary.items()}})
    print(f"wrote {args.json}")
