"""Why convolution: the study note's parameter counts, and LeNet-5's table as the paper gives it.

- A 1000x1000 image into 10^6 hidden units: fully connected 10^12 weights; each unit connected to
  a 10x10 patch 10^8; with the 10x10 weights shared by all units (one feature map) 100.
- A 1x1 convolution reducing channels before a 3x3 one saves parameters.
- LeNet-5 (lenet_jax.model.describe): partial C3 1,516 parameters vs full 2,416; 60,000 vs 60,900
  in all; 340,908 connections.
- Every network of the paper's Figure 9 (the figure9 sweep's), its parameters and connections
  (multiply-adds) as the code counts them, beside Figures 11 and 12's thousands and, for
  LeNet-1 and LeNet-4, the published counts.

  python launch.py --experiment=param_counts
"""
import ml_collections

import experiments
from lenet_jax import paper, step, sweep
from lenet_jax.model import LeNet5, describe

# Counts published in the text (the figures round to thousands): LeNet-1 (LeCun et al. 1990)
# and LeNet-4's "about".
STATED = {"[16x16] LeNet-1": "2,578 / 98,442 (1990), 4,635 units",
          "LeNet-4": "about 17,000 / about 260,000", "LeNet-5": "60,000 / 340,908"}


def get_config():
  return ml_collections.ConfigDict({"experiment": "param_counts"})


def dense_vs_local(image=1000, hidden=10**6, patch=10):
  return {"fully_connected": image * image * hidden, "local": patch * patch * hidden,
          "local_shared": patch * patch}


def one_by_one(c_in=256, c_mid=64, c_out=256, k=3):
  """Weights of a k x k convolution c_in -> c_out, directly and behind a 1x1 reduction."""
  direct = k * k * c_in * c_out
  reduced = c_in * c_mid + k * k * c_mid * c_out
  return {"direct": direct, "with_1x1": reduced, "saving": 1 - reduced / direct}


def _table(rows):
  print(f"  {'layer':7s} {'maps':>5s} {'size':>7s} {'params':>8s} {'connections':>12s}")
  for r in rows:
    size = "" if not r["size"] else f"{r['size']}x{r['size']}"
    maps = "" if r["maps"] is None else r["maps"]
    print(f"  {r['layer']:7s} {maps:>5} {size:>7s} {r['params']:8,d} {r['connections']:12,d}")


def run(config, workdir):
  del config, workdir
  d = dense_vs_local()
  print("1000x1000 image, 10^6 hidden units (the study note):")
  print(f"  fully connected:             {d['fully_connected']:.0e} weights")
  print(f"  10x10 local connections:     {d['local']:.0e} weights")
  print(f"  local + shared (one kernel): {d['local_shared']} weights")
  o = one_by_one()
  print("3x3 convolution 256 -> 256 channels:")
  print(f"  direct: {o['direct']:,d} weights; behind a 1x1 to 64 channels: {o['with_1x1']:,d} "
        f"({o['saving']:.0%} fewer)")
  networks = figure9_networks()
  print("The networks of Figure 9: parameters / connections counted here, and the paper's "
        "(Figures 11, 12: multiply-adds / memory, thousands; the text where it states them):")
  print(f"  {'row':26s} {'experiment':14s} {'parameters':>11s} {'connections':>12s}  paper")
  for r in networks:
    k = lambda v: "-" if v is None else f"{v}K"
    print(f"  {r['row']:26s} {r['experiment']:14s} {r['params']:11,d} {r['connections']:12,d}  "
          f"{k(r['multiply_adds_k'])} / {k(r['memory_k'])}"
          + (f"; {STATED[r['row']]}" if r["row"] in STATED else ""))
  tables = {"figure9": networks}
  for c3 in ("partial", "full"):
    rows = describe(LeNet5(c3=c3))
    print(f"LeNet-5, {c3} C3:")
    _table(rows)
    tables[c3] = rows
  return {"dense_vs_local": d, "one_by_one": o, "lenet5": tables}


def figure9_networks() -> list[dict]:
  """The trained networks of the figure9 sweep, one per paper row, with their counts (the
  [dist] rows share their network with the plain ones and are left out)."""
  rows = []
  for name in sweep.get("figure9"):
    about = experiments.about(name)
    config = experiments.load(name).get_config()
    if not about["paper_row"] or about["paper_row"].startswith("[dist]") or "seeds" not in config:
      continue
    total = describe(step.make_model(config))[-1]
    rows.append(dict(paper.figure9_row(about["paper_row"]), experiment=name,
                     params=total["params"], connections=total["connections"]))
  return rows
