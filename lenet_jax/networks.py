"""The neural networks of the paper's comparison (Figure 9) as `Stage` lists, built from the same
layers, so that SDLM's curvature pass walks each of them as it walks LeNet-5.

  lenet5        Section II.B: C1, S2, C3 (Table I), S4, C5, F6, then the RBF output.
  lenet5_local  LeNet-5 with C1 and C3 locally connected: the same receptive fields, separate
                weights at every position (the study note's section 1.6: what sharing buys).
  lenet4        4 maps, 8 subsampling maps in pairs, 16 maps (sparse), 16 subsampling maps, a
                sparse 120-unit layer, 10 outputs (connectivity chosen: tables.LENET4_*).
  lenet1        the 1990 network on 16x16 digits centred in 28x28: 4 maps, 4 subsampling maps,
                12 maps reading 20 of 48 (tables.LENET1_H3), 12 subsampling maps, 10 outputs.
  mlp           fully connected: the image, then `hidden` layers, then 10 outputs.

Every hidden layer uses the configured activation (the paper's scaled tanh); the output layer
is the RBF (LeNet-5's) or 10 units: squashed (`squash`, the MLPs' and LeNets 1 and 4's, trained
to +-1 targets) or linear.
"""
from __future__ import annotations

from lenet_jax import layers, tables
from lenet_jax.config import CHOICES

NETWORKS = CHOICES["network"]
# The side of each network's square input; None: the image as it comes (the MLPs).
INPUT_SIDE = {"lenet5": 32, "lenet5_local": 32, "lenet4": 32, "lenet1": 28, "mlp": None}


def _lenet5(f, pooling, curvature, c3, local=False):
  conv = layers.local_stage if local else layers.conv_stage
  return [
      conv("C1", 5, 1, 6, 28, f),
      layers.pool_stage("S2", 6, 14, pooling, f, curvature),
      conv("C3", 5, 6, 16, 10, f, tables.c3_table(c3)),
      layers.pool_stage("S4", 16, 5, pooling, f, curvature),
      layers.conv_stage("C5", 5, 16, 120, 1, f),
      layers.dense_stage("F6", 120, 84, f, flatten=True),
  ]


def _lenet4(f, pooling, curvature):
  return [
      layers.conv_stage("C1", 5, 1, 4, 28, f),
      layers.pool_stage("S2", 8, 14, pooling, f, curvature, source=(0, 0, 1, 1, 2, 2, 3, 3)),
      layers.conv_stage("C3", 5, 8, 16, 10, f, tables.LENET4_C3),
      layers.pool_stage("S4", 16, 5, pooling, f, curvature),
      layers.conv_stage("F5", 5, 16, 120, 1, f, tables.LENET4_F5),
  ]


def _lenet1(f, pooling, curvature):
  return [
      layers.conv_stage("H1", 5, 1, 4, 24, f),
      layers.pool_stage("H2", 4, 12, pooling, f, curvature),
      layers.conv_stage("H3", 5, 4, 12, 8, f, tables.LENET1_H3),
      layers.pool_stage("H4", 12, 4, pooling, f, curvature),
  ]


def _mlp(f, side, hidden):
  stages, fin = [], side * side
  for k, width in enumerate(hidden):
    stages.append(layers.dense_stage(f"H{k + 1}", fin, width, f, flatten=k == 0))
    fin = width
  return stages


def build_stages(network="lenet5", *, c3="partial", pooling="trainable", activation="scaled_tanh",
                 output="rbf_bitmap", subsample_curvature="per_connection", hidden=(),
                 side=None):
  """The stages of `network` with the chosen variant of each design choice (side: the input's
  side, for the MLPs; subsample_curvature: SDLM's rule for trainable subsampling)."""
  if network not in NETWORKS:
    raise ValueError(f"unknown network {network!r}; use one of {NETWORKS}")
  if activation not in layers.ACTIVATIONS:
    raise ValueError(f"unknown activation {activation!r}; use one of "
                     f"{tuple(layers.ACTIVATIONS)}")
  if output not in CHOICES["output"]:
    raise ValueError(f"unknown output {output!r}; use one of {CHOICES['output']}")
  f = layers.ACTIVATIONS[activation]
  if network in ("lenet5", "lenet5_local"):
    stages = _lenet5(f, pooling, subsample_curvature, c3, local=network == "lenet5_local")
  elif network == "lenet4":
    stages = _lenet4(f, pooling, subsample_curvature)
  elif network == "lenet1":
    stages = _lenet1(f, pooling, subsample_curvature)
  else:
    if not hidden or any(int(h) < 1 for h in hidden):
      raise ValueError(f"hidden must give one or more layer widths >= 1, got {hidden!r}")
    stages = _mlp(f, side or 28, [int(h) for h in hidden])
  if output.startswith("rbf"):
    if stages[-1].maps != tables.CODE_SIZE:
      raise ValueError(f"output {output} needs a last layer of {tables.CODE_SIZE} units "
                       f"(LeNet-5's F6); {network} ends with {stages[-1].maps}")
    return stages
  last = stages[-1]
  fin = last.maps * max(last.size, 1) ** 2
  act = layers.ACTIVATIONS["scaled_tanh"] if output == "squash" else None
  return stages + [layers.dense_stage("OUTPUT", fin, tables.NUM_CLASSES, act,
                                      flatten=last.size > 0)]


def input_side(network: str, image_side: int) -> int:
  """The side of the input `network` reads when the images are image_side x image_side."""
  return INPUT_SIDE[network] or image_side
