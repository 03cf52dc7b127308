"""The paper's comparison as the report draws it: Figure 9's bars (ours with their spread over the
seeds beside the paper's) and Figure 10's rejection measure, from a figure9 sweep's folder."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from lenet_jax import derived, losses, paper, train, trained
from lenet_jax import workdir as workdir_lib
from lenet_jax.report import plots
from lenet_jax.report.sources import SourceError
from lenet_jax.sweep.summary import summarize


def rows(sweep_dir: str, names: list[str], about: dict) -> list[dict]:
  """One row per paper row of Figure 9 that an experiment of `names` reproduces and has finished
  in sweep_dir/NAME: the paper's numbers (paper.figure9_row) and ours (the summary's)."""
  out = []
  for name in names:
    row = (about.get(name) or {}).get("paper_row")
    path = os.path.join(sweep_dir, name, "results.json")
    if not row or not os.path.exists(path):
      continue
    try:
      results = workdir_lib.read_results(path)
    except workdir_lib.WorkdirError:
      continue
    ours = summarize([(name, results)], about)[0]
    out.append(dict(paper.figure9_row(row), experiment=name, ours=ours, results=results,
                    run_dir=os.path.dirname(path)))
  order = [r[0] for r in paper.FIGURE9]
  return sorted(out, key=lambda r: order.index(r["row"]))


def rejection(row: dict) -> Optional[list[float]]:
  """Figure 10's share (%) per seed for a row the figure has: recorded by the experiment
  (boosting's summed outputs), else computed from each lane's parameters at the run's last
  checkpoint (checksum-verified) on its version of the test set; None without one."""
  if row["rejection"] is None:
    return None
  recorded = [l["rejection_for_0.5"] for l in row["results"]["lanes"] if "rejection_for_0.5" in l]
  if recorded:
    return recorded
  try:
    net = trained.load(row["run_dir"])
  except workdir_lib.WorkdirError:   # a copy of the results without its checkpoints
    return None
  ds = train.load_data(net.config)
  larger = net.model.output in losses.LARGER_WINS
  return [derived.rejection_share(trained.scores(net.model, trained.lane_params(net, k),
                                                 ds.test_x), ds.test_y, larger)
          for k, lane in enumerate(row["results"]["lanes"]) if lane.get("status") == "done"]


def plot(rows_: list[dict], path: str) -> None:
  """Figure 9 as bars: each row's paper error beside ours (mean, the bar; min to max, the
  whisker; every seed a dot), on a log scale since the errors span 0.7% to 12%."""
  if not rows_:
    raise SourceError("no finished Figure 9 row")
  fig = plots.figure(figsize=(8.0, 0.42 * len(rows_) + 1.6))
  ax = fig.add_subplot()
  y = np.arange(len(rows_))[::-1]
  paper_err = [r["test_error"] for r in rows_]
  ours = [r["ours"]["test_error_mean"] or np.nan for r in rows_]
  low = [m - (r["ours"]["test_error_min"] or m) for m, r in zip(ours, rows_)]
  high = [(r["ours"]["test_error_max"] or m) - m for m, r in zip(ours, rows_)]
  ax.barh(y + 0.2, paper_err, height=0.38, color="0.7", label="paper (Figure 9)")
  ax.barh(y - 0.2, ours, height=0.38, color="C0", xerr=[low, high], capsize=2,
          label="ours: mean over seeds, min to max")
  for yi, r in zip(y, rows_):
    seeds = r["ours"]["test_errors"]
    ax.plot(seeds, [yi - 0.2] * len(seeds), "k.", markersize=3)
  ax.set_yticks(y)
  ax.set_yticklabels([r["row"] for r in rows_], fontsize=8)
  ax.set_xscale("log")
  ax.set_xlabel("test error (%), log scale")
  ax.set_title("Figure 9: test error on MNIST, the paper's and ours")
  ax.grid(True, axis="x", which="both", alpha=0.3)
  ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.6 / len(rows_)), ncol=2,
            frameon=False)
  plots.save_png(fig, path)


def section(sweep_dir: str, names: list[str], about: dict, out_dir: str) -> str:
  """The report's Figure 9 and 10 section (markdown), its chart written to out_dir; a line
  saying why when the sweep has no finished row."""
  found = rows(sweep_dir, names, about)
  if not found:
    return f"*Figure 9: skipped (no finished row in {sweep_dir}).*"
  plot(found, os.path.join(out_dir, FIGURE))
  lines = [f"![Figure 9]({FIGURE})", "",
           "| Figure 9 row | paper % | ours % (seeds) | rejected for 0.5% error: paper | ours |",
           "|---|---:|---:|---:|---:|"]
  for r in found:
    o = r["ours"]
    mean = "-" if o["test_error_mean"] is None else f"{o['test_error_mean']:.2f}"
    if o["test_error_std"] is not None:
      mean += f" ± {o['test_error_std']:.2f}"
    shares = rejection(r)
    ours = "" if not shares else f"{np.mean(shares):.2f}%" + (
        f" ± {np.std(shares, ddof=1):.2f}" if len(shares) > 1 else "")
    if not shares and r["rejection"] is not None:
      ours = "- (no checkpoint)"
    paper_share = "" if r["rejection"] is None else f"{r['rejection']}%"
    lines.append(f"| {r['row']} | {r['test_error']} | {mean} ({o['seeds_finished']}) | "
                 f"{paper_share} | {ours} |")
  lines += ["", "Bars: the paper's error beside ours (mean over the seeds, whiskers min to max, "
            "dots the seeds). Rejection (Figure 10): the share of test digits rejected, those "
            "with the smallest difference between the top two scores first, to reach 0.5% "
            "error on the rest."]
  return "\n".join(lines)


FIGURE = "fig9_comparison.png"
