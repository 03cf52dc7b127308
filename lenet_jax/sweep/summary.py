"""The table and plots of a sweep: one row per experiment, statistics over its seeds.

`write_summary(entries, workdir)` takes (experiment name, results dict) pairs, results dicts as
`lenet_jax.train.train_and_evaluate` returns (and writes to results.json), and writes
workdir/summary.json, summary.md, test_error_per_pass.png and final_errors.png.

A lane counts as finished when its status is "done" or "stalled" (stuck at chance). Diverged
lanes are left out of every mean, minimum, maximum and curve and counted in their own column;
lanes still running are left out of the final-error statistics but their passes so far are in
the per-pass curves. Lanes of one run
that differ in a varied field (their "overrides", e.g. learning_rate) are separate rows.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterable

import numpy as np

from lenet_jax import files, paper
from lenet_jax.report import plots
from lenet_jax.results import lanes

PAPER_LENET5 = paper.TEST_ERROR


def _float(x) -> float | None:
  """x as a JSON-safe float (None for missing or non-finite)."""
  if x is None:
    return None
  x = float(x)
  return x if math.isfinite(x) else None


def _std(values) -> float | None:
  """Sample standard deviation (ddof 1); None with fewer than two values."""
  return float(np.std(values, ddof=1)) if len(values) > 1 else None


def _label(name: str, overrides: dict) -> str:
  if not overrides:
    return name
  return name + " [" + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in sorted(overrides.items())) + "]"


def _row(name: str, results: dict, overrides: dict, lanes: list[dict], n_run_lanes: int,
         about: dict) -> dict:
  finished = [l for l in lanes if l.get("status") in ("done", "stalled")
              and "final_test_error" in l]
  diverged = [l for l in lanes if l.get("status") == "diverged"]
  running = [l for l in lanes if l not in finished and l not in diverged]
  finals = [float(l["final_test_error"]) for l in finished]
  trains = [float(l["passes"][-1]["train_error"]) for l in finished
            if l.get("passes") and "train_error" in l["passes"][-1]]

  # Per-pass test error over the lanes that have not diverged and reached that pass.
  kept = [l for l in lanes if l.get("status") != "diverged"]
  n_passes = max((len(l.get("passes", [])) for l in kept), default=0)
  per_pass = {"pass": [], "mean": [], "std": [], "min": [], "max": [], "lanes": []}
  for i in range(n_passes):
    values = [float(l["passes"][i]["test_error"]) for l in kept
              if len(l.get("passes", [])) > i and "test_error" in l["passes"][i]]
    if not values:
      continue
    per_pass["pass"].append(i + 1)
    per_pass["mean"].append(float(np.mean(values)))
    per_pass["std"].append(_std(values))
    per_pass["min"].append(min(values))
    per_pass["max"].append(max(values))
    per_pass["lanes"].append(len(values))

  # Throughput: images/s of each lane, mean over its passes, summed over the lanes of this row.
  # In one vmapped run every lane reports the run's per-lane rate; a lane that diverged was
  # still computed, so it counts at the rate of the lanes that recorded passes.
  lane_rates = [float(np.median([p["images_per_second"] for p in l["passes"]]))
                for l in lanes if l.get("passes")
                and all("images_per_second" in p for p in l["passes"])]
  images_per_second = float(np.mean(lane_rates)) * len(lanes) if lane_rates else None

  # SDLM in pass 1: the effective rates' range over the lanes, and the mean share inside the
  # paper's range (results written before this was recorded have neither).
  first = [l["passes"][0] for l in lanes if l.get("passes") and "sdlm" in l["passes"][0]]
  sdlm_pass1 = None if not first else {
      "rate_min": min(p["effective_lr_min"] for p in first),
      "rate_max": max(p["effective_lr_max"] for p in first),
      "share_in_paper_range": float(np.mean([p["sdlm"]["share_in_paper_range"] for p in first]))}

  return {
      "experiment": name,
      "label": _label(name, overrides),
      "overrides": dict(overrides),
      "change": about.get("change") or "",
      "lanes": len(lanes),
      "lanes_in_run": n_run_lanes,
      "seeds": [l.get("seed") for l in lanes],
      "seeds_finished": len(finished),
      "running": len(running),
      "diverged": len(diverged),
      "diverged_seeds": [l.get("seed") for l in diverged],
      "stalled": sum(l.get("status") == "stalled" for l in lanes),
      "test_errors": finals,
      "test_error_mean": float(np.mean(finals)) if finals else None,
      "test_error_std": _std(finals),
      "test_error_min": min(finals) if finals else None,
      "test_error_max": max(finals) if finals else None,
      "train_error_mean": float(np.mean(trains)) if trains else None,
      "paper_test_error": about.get("paper_test_error") if not overrides else None,
      "images_per_second": _float(images_per_second),
      "sdlm_pass1": sdlm_pass1,
      "passes": n_passes,
      "per_pass": per_pass,
      "parameters": results.get("parameters"),
      "total_seconds": _float(results.get("total_seconds")),
  }


def summarize(entries: Iterable[tuple[str, dict]], about: dict | None = None) -> list[dict]:
  """One row per (experiment, overrides), in the order of `entries`. What each experiment
  declares (experiments.about: its change and the paper's number) comes from `about` by name,
  else from the config its results record (config.about)."""
  rows = []
  for name, results in entries:
    declared = (about or {}).get(name) or results.get("config", {}).get("about") or {}
    run_lanes = lanes(results)
    groups: dict[tuple, list[dict]] = {}
    for lane in run_lanes:
      key = tuple(sorted((lane.get("overrides") or {}).items()))
      groups.setdefault(key, []).append(lane)
    for key, group in groups.items():
      rows.append(_row(name, results, dict(key), group, len(run_lanes), declared))
  return rows


def _fmt(x, digits=2) -> str:
  return "-" if x is None else f"{x:.{digits}f}"


def markdown(rows: list[dict]) -> str:
  lines = [
      "| experiment | changes | seeds finished | test error % (mean ± std) | min | max "
      "| paper | train error % | pass-1 rates (share in paper's) | images/s | diverged |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ]
  for r in rows:
    mean = _fmt(r["test_error_mean"])
    if r["test_error_std"] is not None:
      mean += f" ± {r['test_error_std']:.2f}"
    finished = f"{r['seeds_finished']}/{r['lanes']}"
    if r["running"]:
      finished += f" ({r['running']} running)"
    rates = r.get("sdlm_pass1")
    rates = "-" if not rates else (f"{rates['rate_min']:.2g}..{rates['rate_max']:.2g} "
                                   f"({100 * rates['share_in_paper_range']:.1f}%)")
    lines.append(
        f"| {r['label']} | {r['change'] or '-'} | {finished} | {mean} "
        f"| {_fmt(r['test_error_min'])} | {_fmt(r['test_error_max'])} "
        f"| {_fmt(r['paper_test_error'])} | {_fmt(r['train_error_mean'])} | {rates} "
        f"| {_fmt(r['images_per_second'], 0)} | {r['diverged']}"
        + (f" ({r['stalled']} stalled)" if r.get("stalled") else "") + " |")
  lines += [
      "",
      "Test error after the last pass, over the seeds that finished; std is the sample standard "
      "deviation (ddof 1, '-' with one seed). Diverged lanes are excluded from the statistics "
      "and counted in the last column. images/s: per lane, median over passes, summed over the "
      "lanes. Paper: the test error of the row of Figure 9 (LeCun et al. 1998) that the "
      "experiment reproduces, where there is one. Pass-1 rates: SDLM's effective rates eta/(mu + h) "
      "from the estimate before pass 1, over the lanes, and the mean share of parameters "
      "inside the paper's 7e-5..0.016.",
  ]
  return "\n".join(lines) + "\n"


MARKERS = "osD^v<>ph*"


def plot_per_pass(rows: list[dict], path: str) -> None:
  fig = plots.figure(figsize=(10, 6))
  ax = fig.add_subplot()
  drawn = [r for r in rows if r["per_pass"]["pass"]]
  for i, (r, color) in enumerate(zip(drawn, plots.colors(len(drawn)))):
    pp = r["per_pass"]
    n = max(pp["lanes"])
    ax.plot(pp["pass"], pp["mean"], marker=MARKERS[i % len(MARKERS)], markersize=4,
            color=color, label=f"{r['label']} (n={n}"
            + (f", {r['diverged']} diverged)" if r["diverged"] else ")"))
    if n > 1:
      ax.fill_between(pp["pass"], pp["min"], pp["max"], color=color, alpha=0.15, linewidth=0)
  ax.axhline(PAPER_LENET5, color="black", linestyle="--", linewidth=1,
             label=f"paper LeNet-5 ({PAPER_LENET5}%)")
  if not drawn:
    ax.text(0.5, 0.5, "no finished passes", transform=ax.transAxes, ha="center")
  else:
    values = [v for r in drawn for v in r["per_pass"]["min"] + r["per_pass"]["max"] if v > 0]
    plots.log_axis(ax, min(values + [PAPER_LENET5]) / 1.2, max(values + [PAPER_LENET5]) * 1.2)
    last = max(max(r["per_pass"]["pass"]) for r in drawn)
    ax.set_xticks(range(1, last + 1, max(1, last // 20)))
  ax.set_xlabel("pass over the training set")
  ax.set_ylabel("test error (%), log scale")
  ax.set_title("Test error after each pass: mean over seeds, band = min to max")
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
  plots.save_png(fig, path, dpi=120)


def plot_final(rows: list[dict], path: str) -> None:
  fig = plots.figure(figsize=(max(6.0, 0.6 * len(rows) + 2.0), 5.5))
  ax = fig.add_subplot()
  x = np.arange(len(rows))
  colors = plots.colors(len(rows))
  means = [r["test_error_mean"] if r["test_errors"] else np.nan for r in rows]
  stds = [r["test_error_std"] if r["test_error_std"] is not None else np.nan for r in rows]
  ax.bar(x, np.nan_to_num(means), yerr=stds, capsize=3, color=colors, alpha=0.8,
         edgecolor="black", linewidth=0.5, error_kw={"linewidth": 1})
  ax.axhline(PAPER_LENET5, color="black", linestyle="--", linewidth=1,
             label=f"paper LeNet-5 ({PAPER_LENET5}%)")
  tops = [max(r["test_error_max"], r["test_error_mean"] + np.nan_to_num(stds[i]))
          if r["test_errors"] else 0.0 for i, r in enumerate(rows)]
  high = max(tops + [PAPER_LENET5])
  low = min([m for m in means if m == m and m > 0] + [PAPER_LENET5])
  if high / low > 20:     # errors over orders of magnitude: bars on a log axis
    plots.log_axis(ax, low / 2, high * 3)
    ax.set_ylim(low / 2, high * 3)
  else:
    ax.set_ylim(0, high * 1.25)   # headroom for the labels and the legend
  for i, r in enumerate(rows):
    if r["test_errors"]:
      if len(r["test_errors"]) > 1:
        ax.plot([i] * len(r["test_errors"]), r["test_errors"], "k.", markersize=4)
      ax.annotate(f"{r['test_error_mean']:.2f}", (i, tops[i]), xytext=(0, 4),
                  textcoords="offset points", ha="center", fontsize=7)
    else:
      ax.annotate("no finished\nseed", (i, ax.get_ylim()[0]), xytext=(0, 4),
                  textcoords="offset points", ha="center", fontsize=7, color="red")
  ax.set_xticks(x)
  ax.set_xticklabels([r["label"] for r in rows], rotation=45, ha="right", fontsize=8)
  ax.set_xlim(-0.6, len(rows) - 0.4)
  ax.set_ylabel("test error after the last pass (%)")
  ax.set_title("Final test error: mean over finished seeds, bars = sample std, dots = seeds")
  ax.grid(True, axis="y", which="both", alpha=0.3)
  ax.legend(loc="upper left", fontsize=8)
  plots.save_png(fig, path, dpi=120)


def write_summary(entries: Iterable[tuple[str, dict]], workdir: str,
                  about: dict | None = None) -> dict:
  """Writes summary.json, summary.md, test_error_per_pass.png and final_errors.png to workdir
  (each atomically) and returns the summary.json dict. A folder that cannot take them (a file,
  read-only, full) is one files.WriteError naming the path and the fix; the files already there
  stay whole."""
  rows = summarize(list(entries), about)
  with files.writing(workdir):
    os.makedirs(workdir, exist_ok=True)
  names = {"json": "summary.json", "markdown": "summary.md",
           "per_pass_plot": "test_error_per_pass.png", "final_plot": "final_errors.png"}
  summary: dict[str, Any] = {"paper_test_error": PAPER_LENET5, "experiments": rows,
                             "files": names}
  files.write_text(os.path.join(workdir, names["markdown"]), markdown(rows))
  plot_per_pass(rows, os.path.join(workdir, names["per_pass_plot"]))
  plot_final(rows, os.path.join(workdir, names["final_plot"]))
  files.write_json(os.path.join(workdir, names["json"]), summary)
  return summary
