"""A run's folder: whether it may be used, and its orbax checkpoints (exact resume)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import orbax.checkpoint as ocp

from lenet_jax import config as config_lib
from lenet_jax import files
from lenet_jax.multihost import is_primary


class WorkdirError(ValueError):
  """The workdir cannot be used: not writable, another config's results, a corrupt checkpoint."""


# Config fields that do not change what a run computes, so a workdir may be resumed with others.
RESUMABLE_DIFFERENCES = ("mnist_dir", "eval_batch_size", "lane_group")


def config_mismatch(saved: dict, config) -> list[str]:
  """The fields in which a saved config (as results.json holds it) differs from `config`,
  leaving out those that do not change what a run computes."""
  as_json = lambda c: json.loads(json.dumps(c.to_dict()))
  now, default = as_json(config), as_json(config_lib.paper_config())
  keys = sorted((set(saved) | set(now)) - set(RESUMABLE_DIFFERENCES))
  # A field added to the config after a run was saved: the run had its default.
  same = lambda k: saved.get(k, default.get(k)) == now.get(k)
  return [k for k in keys if not same(k)]


def check_same_config(saved: dict, config, workdir: str) -> None:
  """WorkdirError if the results saved in workdir are of another config."""
  diff = config_mismatch(saved, config)
  if diff:
    raise WorkdirError(
        f"workdir {workdir!r} holds results of a different config (differs in: "
        f"{', '.join(diff)}); use another --workdir, or --overwrite to replace them")


def read_results(path: str) -> dict:
  """A results.json; WorkdirError naming the file if it is unreadable or of the wrong shape."""
  try:
    return files.read_json(path, "rerun with --overwrite to start over",
                           {"config": dict, "status": str, "lanes": list})
  except files.FileProblem as e:
    raise WorkdirError(str(e)) from None


def prepare(workdir: str, config, overwrite: bool):
  """Creates workdir, or checks that the results already in it are this config's. Returns the
  latest checkpoint step there (None: start from scratch)."""
  results_path = os.path.join(workdir, "results.json")
  ckpt_dir = os.path.join(workdir, "checkpoints")
  try:
    os.makedirs(workdir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=workdir, prefix=".tmp-probe")
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir!r} is not writable ({e.strerror}); choose another "
                       "--workdir") from None
  if overwrite:
    if not is_primary():
      return None
    for path in (results_path, ckpt_dir):
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.unlink(path)
    return None
  if os.path.exists(results_path):
    check_same_config(read_results(results_path)["config"], config, workdir)
  if not os.path.isdir(ckpt_dir):
    return None
  steps = sorted(int(d) for d in os.listdir(ckpt_dir) if d.isdigit())
  return steps[-1] if steps else None


def checkpoint_manager(workdir: str, keep: int):
  # Synchronous saves: the state is donated to the next training call right after a save.
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, "checkpoints")),
                               options=options)


def save(manager, step: int, state, meta: dict) -> None:
  manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                             meta=ocp.args.JsonSave(meta)), force=True)


def restore(manager, step: int, template):
  """(state, meta) of the checkpoint at `step`, `template` giving the state's structure."""
  try:
    got = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(template), meta=ocp.args.JsonRestore()))
  except Exception as e:   # orbax raises many types for damaged files; all mean the same here
    raise WorkdirError(f"checkpoint {os.path.join(manager.directory, str(step))} is unreadable "
                       f"({type(e).__name__}: {str(e)[:200]}); rerun with --overwrite to start "
                       "over") from None
  return got["state"], got["meta"]
