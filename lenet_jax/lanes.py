"""Many models in one compiled program: the lanes (seeds x varied values), their devices, and the
step functions of lenet_jax.step wrapped over a leading lane axis. One model is one lane."""
from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import step
from lenet_jax.multihost import host
from lenet_jax.config import LANE_FIELDS, vary_axes


def lanes_of(config) -> list[dict]:
  """The models trained together: for each entry of `config.lane_sets` (the config's own lane
  fields if none), for every combination of `config.vary` ("field=v1,v2,..."; fields from
  LANE_FIELDS), `config.seeds` seeds counting up from the seed."""
  axes = vary_axes(config)
  lanes = []
  for lane_set in config.lane_sets or ({},):
    base = {f: lane_set.get(f, config[f]) for f in LANE_FIELDS}
    for combo in itertools.product(*[vals for _, vals in axes]):
      lane = dict(base, **{f: v for (f, _), v in zip(axes, combo)})
      first = lane["seed"]
      lanes.extend(dict(lane, seed=first + k) for k in range(config.seeds))
  return lanes


def padded_lanes(lanes: list[dict]) -> list[dict]:
  """`lanes` followed by copies of the last one, up to a multiple of the devices they can use
  (min(lanes, local devices); all devices in a multi-process run): 5 seeds on 2 devices train
  as 3 + 3 rather than 5 on one. The copies are trained and thrown away."""
  d = (jax.device_count() if jax.process_count() > 1
       else min(len(lanes), jax.local_device_count()))
  return lanes + [dict(lanes[-1])] * (-len(lanes) % d)


def lane_mesh(n_lanes: int):
  """A one-axis mesh for the lane axis over as many devices (of every process) as divide the
  lanes evenly, or None when that is one. Auto axes: with JAX 0.10's default Explicit axes a
  vmapped convolution fails to shard. On CPU, launch.py splits the host into one XLA device per
  core (lenet_jax.devices.split_host), so lanes train on all cores at once."""
  devices = jax.devices()
  d = max(k for k in range(1, len(devices) + 1) if n_lanes % k == 0)
  if d == 1:
    return None
  return jax.make_mesh((d,), ("lanes",), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices[:d])


def vmapped_together(group: int, lanes: int) -> int:
  """How many of a device's `lanes` one vmap takes for a lane group of `group` (0: all): the
  largest divisor of lanes up to group."""
  return max(k for k in range(1, min(group or lanes, lanes) + 1) if lanes % k == 0)


def over_lanes(fn, in_axes, mesh=None, group=0, sequential=False):
  """fn over the leading lane axis of the arguments with in_axes 0 (every output gets one).

  Vmapped, unless `sequential`: then the lanes run one after another (lax.map), which keeps a
  convolution a plain one rather than a grouped one (evaluation). One lane: the axis is
  squeezed instead, since XLA's CPU backend runs a vmapped (grouped) convolution far slower.
  `group` > 0: a device's lanes are vmapped in groups of that many (or of the largest divisor
  of its lane count up to it), one group after another. With a mesh, each device runs this on
  its own lanes (shard_map over "lanes"): XLA's partitioner splitting the vmapped program
  instead gave wrong numbers for the grouped C5 convolution (JAX 0.10.2, 4 CPU devices)."""
  lane_args = [i for i, ax in enumerate(in_axes) if ax == 0]

  def squeezed(*args):
    one = [jax.tree.map(lambda v: v[0], a) if i in lane_args else a for i, a in enumerate(args)]
    return jax.tree.map(lambda v: v[None], fn(*one))

  def mapped(*args):
    def one(lane):
      it = iter(lane)
      return fn(*[next(it) if i in lane_args else a for i, a in enumerate(args)])
    return jax.lax.map(one, [args[i] for i in lane_args])

  vmapped = jax.vmap(fn, in_axes=in_axes)

  def together(lanes, *args):
    return vmapped(*args) if lanes != 1 else squeezed(*args)

  def run(*args):
    lanes = jax.tree_util.tree_leaves(args[lane_args[0]])[0].shape[0]
    if sequential:
      # A whole run of one lane is evaluated as one model; lanes on a device are mapped.
      return squeezed(*args) if lanes == 1 and mesh is None else mapped(*args)
    g = vmapped_together(group, lanes)
    if g == lanes:
      return together(lanes, *args)
    split = lambda v: v.reshape(lanes // g, g, *v.shape[1:])
    groups = [jax.tree.map(split, args[i]) for i in lane_args]

    def one_group(group_args):
      it = iter(group_args)
      return together(g, *[next(it) if i in lane_args else a for i, a in enumerate(args)])
    out = jax.lax.map(one_group, groups)
    return jax.tree.map(lambda v: v.reshape(lanes, *v.shape[2:]), out)

  if mesh is None:
    return run
  spec = jax.sharding.PartitionSpec
  # check_vma=False: the loops start their metric sums from constants that are not per-lane.
  return jax.shard_map(run, mesh=mesh, out_specs=spec("lanes"), check_vma=False,
                       in_specs=tuple(spec("lanes") if ax == 0 else spec() for ax in in_axes))


class Programs:
  """lenet_jax.step's functions compiled over stacked lane states (a leading lane axis)."""

  def __init__(self, recipe: step.Recipe, mesh=None, group: int = 0):
    self.recipe = recipe
    wrap = lambda fn, axes, **kw: over_lanes(functools.partial(fn, recipe), axes, mesh, **kw)
    lane, shared = (0, None, None, 0, None), (0, None, None, None, None)
    self.init = jax.jit(wrap(step.init, (0,)))
    self.train_steps = jax.jit(wrap(step.train_steps, lane, group=group), donate_argnums=0)
    self.train_step_at = jax.jit(wrap(step.train_step_at, lane), donate_argnums=0)
    self.refresh = jax.jit(wrap(step.refresh, shared), donate_argnums=0)
    self._evaluate_split = jax.jit(wrap(step.evaluate_split, (0, None, None, 0), sequential=True))
    self._evaluate_batch = jax.jit(wrap(step.evaluate_batch, (0, None, None, 0), sequential=True))
    self.largest_weight = jax.jit(step.largest_weight)
    # The pass's order is drawn per lane without the mesh: it is small and read on the host.
    self.order = jax.jit(over_lanes(functools.partial(step.order, recipe), shared),
                         static_argnums=(2, 3, 4))

  def init_lanes(self, lanes: list[dict]):
    """Every lane's state, from its lane fields as one mapping (a column per field)."""
    return self.init({f: jnp.asarray([lane[f] for lane in lanes],
                                     jnp.int32 if f == "seed" else jnp.float32)
                      for f in LANE_FIELDS})

  def evaluate(self, params, images, labels, j) -> list[dict]:
    """Error rate (%), mean loss and error count of every lane of stacked `params` on a split
    held on the device: whole batches as one scan, then the remainder as one batch."""
    n = images.shape[0]
    whole = n - n % self.recipe.eval_batch
    errors, total = 0, 0.0
    if whole:
      e, l = self._evaluate_split(params, images[:whole], labels[:whole], j)
      errors, total = host(e).astype(np.int64).sum(1), host(l).astype(np.float64).sum(1)
    if whole < n:
      e, l = self._evaluate_batch(params, images[whole:], labels[whole:], j)
      errors, total = errors + host(e).astype(np.int64), total + host(l).astype(np.float64)
    return [{"error": 100.0 * int(e) / n, "loss": float(t) / n, "errors": int(e)}
            for e, t in zip(errors, total)]
