"""Receptive field of LeNet-5's units on the 32x32 input: after C1, S2, C3, S4, C5 a unit sees
5, 6, 14, 16 and 32 pixels along a side: C5 sees the whole input.

  python launch.py --experiment=receptive_field
"""
import ml_collections

from lenet_jax import ops

LENET5 = [("C1", 5, 1), ("S2", 2, 2), ("C3", 5, 1), ("S4", 2, 2), ("C5", 5, 1)]


def get_config():
  return ml_collections.ConfigDict({"experiment": "receptive_field"})


def run(config, workdir):
  del config, workdir
  sizes = ops.receptive_field([(k, s) for _, k, s in LENET5])
  print(f"{'layer':6s} {'kernel':>6s} {'stride':>6s}  receptive field")
  for (name, k, s), r in zip(LENET5, sizes):
    print(f"{name:6s} {k:6d} {s:6d}  {r}x{r}")
  return {name: r for (name, _, _), r in zip(LENET5, sizes)}
