"""Why convolution: the study note's parameter counts, and LeNet-5's table as the paper gives it.

- A 1000x1000 image into 10^6 hidden units: fully connected 10^12 weights; each unit connected to
  a 10x10 patch 10^8; with the 10x10 weights shared by all units (one feature map) 100.
- A 1x1 convolution reducing channels before a 3x3 one saves parameters.
- LeNet-5 (lenet_jax.model.describe): partial C3 1,516 parameters vs full 2,416; 60,000 vs 60,900
  in all; 340,908 connections.

  python launch.py --experiment=param_counts
"""
import ml_collections

from lenet_jax.model import LeNet5, describe


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
  tables = {}
  for c3 in ("partial", "full"):
    rows = describe(LeNet5(c3=c3))
    print(f"LeNet-5, {c3} C3:")
    _table(rows)
    tables[c3] = rows
  return {"dense_vs_local": d, "one_by_one": o, "lenet5": tables}
