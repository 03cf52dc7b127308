"""Figure 10's measure for the rows of a figure9 sweep that the figure has: the share of test
digits that must be rejected, those whose two best scores are closest first, to reach 0.5% error
on the rest; one share per seed, from each run's last checkpoint whose checksum holds (boosting
records its own). The README's Figure 9 table reads the file this writes.

  python launch.py --experiment=figure10 --workdir=results/figure10
  python launch.py --experiment=figure10 --set=sweep_dir=runs/sweep_figure9

Writes WORKDIR/figure10.json. A row whose run has no checkpoint left is an error naming it.
"""
import os

import ml_collections
import numpy as np

from lenet_jax import files, results as results_lib, sweep
from lenet_jax.report import figure9
from lenet_jax.report.tables import declared

CHANGES = "Figure 10's rejection measure, from a figure9 sweep's runs"
PAPER_ROW = None
FILE = "figure10.json"


def get_config():
  return ml_collections.ConfigDict({"experiment": "figure10", "sweep_dir": "results/figure9"})


def run(config, workdir):
  names = sweep.get("figure9")
  rows = [r for r in figure9.rows(config.sweep_dir, names, {n: declared(n) for n in names})
          if r["rejection"] is not None]
  if not rows:
    raise ValueError(f"sweep_dir: no finished row of Figure 10 in {config.sweep_dir!r}; give "
                     "a figure9 sweep's folder, e.g. --set=sweep_dir=results/figure9")
  out = {"experiment": "figure10", "sweep_dir": config.sweep_dir, "rows": {},
         "commit": results_lib.commit(), "versions": results_lib.versions(),
         "device": results_lib.device()}
  for r in rows:
    shares = figure9.rejection(r)
    if not shares:
      raise ValueError(f"{r['run_dir']} has no checkpoint whose checksum holds: rerun "
                       f"`launch.py --experiment={r['experiment']}` there to make one")
    out["rows"][r["experiment"]] = {"row": r["row"], "paper": r["rejection"],
                                    "shares": [float(s) for s in shares]}
    print(f"{r['row']}: rejected {np.mean(shares):.2f}% on average (seeds: "
          f"{', '.join(f'{s:.2f}' for s in shares)}); paper {r['rejection']}%", flush=True)
  with files.writing(workdir):
    os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, FILE)
  files.write_json(path, out)
  print(f"results: {path}")
  return out
