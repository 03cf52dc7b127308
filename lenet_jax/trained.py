"""Trained models read back: a finished run's parameters from its latest checkpoint, trusted only
when its checksum holds, and what the networks compute with them (scores, features)."""
from __future__ import annotations

import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lenet_jax import config as config_lib
from lenet_jax import lanes as lanes_lib
from lenet_jax import step
from lenet_jax import workdir as workdir_lib
from lenet_jax.layers import run_stages


class Trained(NamedTuple):
  config: Any           # the run's config (a ConfigDict)
  results: dict         # its results.json
  params: Any           # every lane's parameters, stacked on a leading lane axis (NumPy)
  model: Any            # the Flax module (lenet_jax.model.Network)
  step: int             # the checkpoint's optimiser step


def config_of(results: dict) -> ml_collections.ConfigDict:
  """The config a results.json records (JSON turned the config's tuples into lists; a field
  added to the config after the run was saved had its default)."""
  config = config_lib.paper_config().to_dict()
  config.update({k: tuple(v) if isinstance(v, list) else v
                 for k, v in results["config"].items()})
  return ml_collections.ConfigDict(config)


def load(run_dir: str) -> Trained:
  """The parameters of every lane of the run in run_dir at its latest checkpoint whose checksum
  holds (a damaged one is passed over with a warning, and nothing is deleted); WorkdirError
  naming the problem if there is none."""
  results = workdir_lib.read_results(os.path.join(run_dir, "results.json"))
  config = config_of(results)
  recipe = step.make_recipe(config, max(1, results["train_images"] // config.batch_size))
  lanes = lanes_lib.lanes_of(config)
  # The lanes the run trained: padded with copies of the last to a multiple of its devices.
  devices = int(results.get("lane_devices", 1))
  lanes = lanes + [lanes[-1]] * (-len(lanes) % devices)
  template = lanes_lib.Programs(recipe).init_lanes(lanes)
  manager = workdir_lib.checkpoint_manager(run_dir, config.checkpoint_keep, create=False)
  try:
    state, meta = workdir_lib.restore_latest(manager, template, repair=False)
  finally:
    manager.close()
  params = jax.tree.map(np.asarray, state["params"])
  return Trained(config, results, params, recipe.model, int(meta["step"]))


def lane_params(trained: Trained, lane: int):
  return jax.tree.map(lambda v: v[lane], trained.params)


def _batched(fn, params, x, batch: int = 1000) -> np.ndarray:
  return np.concatenate([np.asarray(fn(params, jnp.asarray(x[i:i + batch])))
                         for i in range(0, len(x), batch)])


def scores(model, params, x, batch: int = 1000) -> np.ndarray:
  """The class scores of one model (its parameters) for images x (N, side, side, 1)."""
  return _batched(jax.jit(lambda p, v: model.apply({"params": p}, v)), params, x, batch)


def features(model, params, x, batch: int = 1000) -> np.ndarray:
  """The outputs of the layer before the output layer (LeNet-4's 120 units, LeNet-5's F6),
  flattened: what a classifier put in place of the output layer reads."""
  stages = model.stages()
  body = stages if model.output.startswith("rbf") else stages[:-1]
  fn = jax.jit(lambda p, v: run_stages(body, p, v).reshape(v.shape[0], -1))
  return _batched(fn, params, x, batch)
