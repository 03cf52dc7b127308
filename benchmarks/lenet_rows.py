"""The paper model's rows: lenet_jax's own step functions (lenet_jax.lanes.Programs) at batch 1,
several seeds at batch 1, batch 128 one step per call, and evaluation."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import step
from lenet_jax.config import paper_config
from lenet_jax.lanes import Programs, lane_mesh, vmapped_together
from timing import EVAL_BATCH, SMALL, block, summarise, time_windows, timed


def paper_trainer(batch: int, train_size: int, mesh=None, lane_group: int = 0) -> Programs:
  """The paper model's step functions over lanes, as train_and_evaluate compiles them (one
  model is one lane)."""
  config = paper_config()
  config.batch_size = batch
  config.lane_group = lane_group
  return Programs(step.make_recipe(config, train_size // batch), mesh, lane_group)


def _lane(seed):
  c = paper_config()
  return dict(seed=seed, sdlm_mu=c.sdlm_mu, map_j=c.map_j, learning_rate=c.learning_rate)


def fresh_state(trainer, train_x, train_y, seed):
  """One model's initial state (a lane axis of 1) with SDLM's Hessian estimated once, as
  train_and_evaluate does before a pass. Its compilation is not part of any reported time."""
  state = trainer.init_lanes([_lane(seed)])
  return block(trainer.refresh(state, train_x, train_y, 0, 0))


def index_rows(rng, n_images, rows, batch):
  """(rows, batch) int32 indices into the on-device training set, cycling permutations."""
  order = np.concatenate([rng.permutation(n_images)
                          for _ in range(-(-rows * batch // n_images))])
  return jnp.asarray(order[:rows * batch].reshape(rows, batch).astype(np.int32))


def bench_lenet_scanned(args, batch, steps, train_x, train_y, rng) -> dict:
  """`train_steps`: `chunk` index rows per call (one compiled program), the first n used."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  chunk = min(args.chunk, steps)
  idx = index_rows(rng, train_x.shape[0], chunk, batch)[None]

  def run(state, n_steps):
    done = 0
    while done < n_steps:
      n = min(chunk, n_steps - done)
      state, _ = trainer.train_steps(state, train_x, train_y, idx, n)  # state is donated
      done += n
    return block(state)

  # n is dynamic, so a first call of one step compiles the same program the windows run; the
  # warm-up is one call of the same program.
  return time_windows(args, run, state, steps, batch, warmup=min(chunk, max(args.warmup, 1)),
                      steps_per_call=chunk)


def bench_lenet_lanes(args, n_lanes, steps, train_x, train_y, rng) -> dict:
  """`lane_train_steps`: n_lanes seeds of the paper model in one program (vmapped in groups of
  config.lane_group per device), batch 1 each, as `launch.py --seeds=N` trains them. Its "batch"
  is n_lanes: images/s are summed over seeds."""
  mesh = lane_mesh(n_lanes)
  trainer = paper_trainer(SMALL, train_x.shape[0], mesh, args.lane_group)
  if mesh is not None:
    train_x, train_y = jax.device_put((train_x, train_y), jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec()))
  lanes = [_lane(args.seed + k) for k in range(n_lanes)]
  state = trainer.init_lanes(lanes)
  state = trainer.refresh(state, train_x, train_y, 0, 0)
  chunk = min(args.chunk, steps)
  idx = jnp.stack([index_rows(rng, train_x.shape[0], chunk, SMALL) for _ in lanes])

  def run(state, n_steps):
    done = 0
    while done < n_steps:
      n = min(chunk, n_steps - done)
      state, _ = trainer.train_steps(state, train_x, train_y, idx, n)
      done += n
    return block(state)

  return time_windows(args, run, block(state), steps, n_lanes,
                      warmup=min(chunk, max(args.warmup, 1)), steps_per_call=chunk, lanes=n_lanes,
                      devices=1 if mesh is None else mesh.size,
                      lane_group=vmapped_together(args.lane_group,
                                                  n_lanes // (1 if mesh is None else mesh.size)))


def bench_lenet_per_call_rows(args, batch, steps, train_x, train_y, rng) -> dict:
  """One step per Python call exactly as train_and_evaluate runs batch >= 16: `train_step_at`,
  the batch gathered from the on-device set by its row of the pass's index order."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  idx = index_rows(rng, train_x.shape[0], steps, batch)[None]

  def run(state, n_steps):
    for i in range(n_steps):
      state, _ = trainer.train_step_at(state, train_x, train_y, idx, i % steps)
    return block(state)

  return time_windows(args, run, state, steps, batch)


def bench_lenet_train_step(args, batch, steps, train_x, train_y, rng) -> dict:
  """`train_step(state, (x, y))` once per Python call on batches already on the device (a pool
  gathered before the clock starts), so this is the step itself with no data movement."""
  trainer = paper_trainer(batch, train_x.shape[0])
  state = jax.tree.map(lambda v: v[0], fresh_state(trainer, train_x, train_y, args.seed))
  one_step = jax.jit(functools.partial(step.train_step, trainer.recipe), donate_argnums=0)
  pool = index_rows(rng, train_x.shape[0], min(steps, 32), batch)
  batches = block([(train_x[r], train_y[r]) for r in pool])

  def run(state, n_steps):
    for i in range(n_steps):
      state, _ = one_step(state, batches[i % len(batches)])
    return block(state)

  return time_windows(args, run, state, steps, batch)


def bench_lenet_eval(args, train_x, train_y, test_x, test_y) -> dict:
  """`evaluate_batch` on batches of 1000 test images, with freshly initialised parameters (the
  cost of a forward pass does not depend on their values)."""
  trainer = paper_trainer(SMALL, train_x.shape[0])
  state = fresh_state(trainer, train_x, train_y, args.seed)
  params, j = jax.tree.map(lambda v: v[0], (state["params"], state["map_j"]))
  evaluate = jax.jit(functools.partial(step.evaluate_batch, trainer.recipe))
  n_batches = test_x.shape[0] // EVAL_BATCH
  batches = [(test_x[i * EVAL_BATCH:(i + 1) * EVAL_BATCH],
              test_y[i * EVAL_BATCH:(i + 1) * EVAL_BATCH]) for i in range(n_batches)]

  def run(n):
    return block([evaluate(params, *batches[i % n_batches], j) for i in range(n)])

  compile_s = timed(lambda: run(1))
  run(2)
  seconds = [timed(lambda: run(args.eval_batches)) for _ in range(args.repeats)]
  return summarise(seconds, args.eval_batches, EVAL_BATCH, compile_s=compile_s)
