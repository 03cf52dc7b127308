"""The figure9 sweep's predicted minutes beside the real ones, per program and in all.

  .venv/bin/python benchmarks/figure9_times.py [--predicted=benchmarks/predict_figure9.json]
      [--results=results/figure9]

Real: each results.json's total_seconds (its training summed over resumed segments); boosted
LeNet-4's is the sum of its ten nets' (its own record covers only the last segment). The real
programs' minutes are then handed out in the sweep's order to two workers, as the prediction
was, giving the wall time an uninterrupted sweep at those speeds would have taken.
"""
from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path
import statistics
import sys

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from predict_sweep import _read, wall  # noqa: E402


def real_seconds(results_dir: str, name: str) -> tuple[float, dict] | None:
  path = os.path.join(results_dir, name, "results.json")
  if not os.path.exists(path):
    return None
  r = _read(path)
  nets = [_read(n) for n in sorted(glob.glob(os.path.join(results_dir, name, "net*",
                                                         "results.json")))]
  if not nets:
    return r["total_seconds"], r
  # A derived row trained its own nets: their time is the row's.
  return sum(n["total_seconds"] for n in nets), {**r, "lane_devices": nets[0].get("lane_devices")}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--predicted", default=str(REPO / "benchmarks" / "predict_figure9.json"))
  parser.add_argument("--results", default=str(REPO / "results" / "figure9"))
  args = parser.parse_args(argv)
  p = _read(args.predicted)
  predicted = p["predictions"][0]["per_experiment_s"]
  order, workers = p["order"], p["workers"]
  print("| experiment | predicted min | real min | real / predicted | commit | devices per worker |")
  print("|---|---:|---:|---:|---|---:|")
  real, ratios = {}, {}
  for name in order:
    got = real_seconds(args.results, name)
    if got is None:
      print(f"| `{name}` | {predicted[name] / 60:.1f} | - | - | | |")
      continue
    real[name], r = got
    ratios[name] = real[name] / predicted[name]
    print(f"| `{name}` | {predicted[name] / 60:.1f} | {real[name] / 60:.1f} | "
          f"{ratios[name]:.2f} | {r.get('commit', '')} | {r.get('lane_devices') or '-'} |")
  missing = [n for n in order if n not in real]
  print(f"\nsummed: predicted {sum(predicted.values()) / 60:.0f} min, real "
        f"{sum(real.values()) / 60:.0f} min ({len(real)} programs; missing: {missing or 'none'})")
  if not missing:
    print(f"on {workers} workers in the sweep's order: predicted "
          f"{wall(order, predicted, workers) / 3600:.2f} h, real "
          f"{wall(order, real, workers) / 3600:.2f} h")
  print(f"real / predicted: median {statistics.median(ratios.values()):.2f}, "
        f"min {min(ratios.values()):.2f}, max {max(ratios.values()):.2f}")


if __name__ == "__main__":
  main()
