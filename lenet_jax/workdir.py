"""A run's folder: whether it may be used, and its orbax checkpoints (exact resume)."""
from __future__ import annotations

import datetime
import errno
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile

import filelock
import jax
import numpy as np
import orbax.checkpoint as ocp

from lenet_jax import config as config_lib
from lenet_jax import files
from lenet_jax.multihost import host, is_primary, log
from lenet_jax.results import shape_problem


class WorkdirError(ValueError):
  """The workdir cannot be used: not writable, in use, another config's results, no readable
  checkpoint, or no space left."""


# Config fields that do not change what a run computes, so a workdir may be resumed with others.
RESUMABLE_DIFFERENCES = ("mnist_dir", "eval_batch_size", "lane_group", "expect_stall", "about")
LOCK, OWNER = ".lock", ".lock.owner"


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
  fix = "rerun with --overwrite to start over"
  try:
    results = files.read_json(path, fix)
  except files.FileProblem as e:
    raise WorkdirError(str(e)) from None
  problem = shape_problem(results)
  if problem:
    raise WorkdirError(f"{path} is not a results.json of lenet_jax ({problem}); {fix}")
  return results


def _lock(workdir: str) -> filelock.FileLock:
  """This process's hold on workdir; WorkdirError naming the run that holds it already. The
  operating system releases it when the process ends, however it ends."""
  lock = filelock.FileLock(os.path.join(workdir, LOCK))
  owner = os.path.join(workdir, OWNER)
  try:
    lock.acquire(timeout=0)
  except filelock.Timeout:
    try:
      with open(owner) as f:
        who = json.load(f)
      first = (f"pid {who['pid']} on {who['host']}, started {who['started']}: "
               f"{who['command']}")
    except (OSError, ValueError, KeyError, TypeError):
      first = "another process"
    raise WorkdirError(f"workdir {workdir!r} is in use by another run ({first}); wait for it to "
                       "finish, or use another --workdir") from None
  files.write_json(owner, {"pid": os.getpid(), "host": platform.node(),
                           "started": datetime.datetime.now().isoformat(timespec="seconds"),
                           "command": " ".join(sys.argv)})
  return lock


def prepare(workdir: str, config, overwrite: bool):
  """Creates workdir and takes its lock, or checks that the results already in it are this
  config's (everything else has been checked before: this is the first write). Returns (lock,
  whether checkpoints exist to resume from, whether this call created workdir); the caller
  releases the lock."""
  results_path = os.path.join(workdir, "results.json")
  ckpt_dir = os.path.join(workdir, "checkpoints")
  new = not os.path.exists(workdir)
  try:
    os.makedirs(workdir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=workdir, prefix=".tmp-probe")
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir!r} is not writable ({e.strerror}); choose another "
                       "--workdir") from None
  lock = _lock(workdir) if is_primary() else None
  try:
    if overwrite:
      if is_primary():
        for path in (results_path, ckpt_dir):
          if os.path.isdir(path):
            shutil.rmtree(path)
          elif os.path.exists(path):
            os.unlink(path)
      return lock, False, new
    if os.path.exists(results_path):
      check_same_config(read_results(results_path)["config"], config, workdir)
    return lock, os.path.isdir(ckpt_dir) and any(d.isdigit() for d in os.listdir(ckpt_dir)), new
  except BaseException:
    if lock is not None:
      lock.release()
    raise


def no_space(e: BaseException) -> bool:
  """Whether e, or what caused it, is the device running out of space."""
  while e is not None:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
      return True
    # tensorstore's messages, as orbax passes them on.
    if any(s in str(e) for s in ("No space left on device", "File too large",
                                 "Disk quota exceeded")):
      return True
    e = e.__cause__ or e.__context__
  return False


def disk_full(path: str, needed: int) -> WorkdirError:
  return WorkdirError(f"no space left on the device holding {path} (about {needed / 2**20:.1f} "
                      "MiB needed); free some space and rerun the same command to resume")


def write_results(workdir: str, results: dict) -> None:
  """workdir/results.json, atomically; a full disk is one WorkdirError saying so."""
  path = os.path.join(workdir, "results.json")
  try:
    files.write_json(path, results)
  except OSError as e:
    if no_space(e):
      raise disk_full(path, len(json.dumps(results, indent=2))) from None
    raise


def checkpoint_manager(workdir: str, keep: int, create: bool = True):
  """workdir/checkpoints' orbax manager (create=False: for reading only)."""
  # Synchronous saves: the state is donated to the next training call right after a save.
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                         enable_async_checkpointing=False, read_only=not create)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, "checkpoints")),
                               options=options)


def close(manager) -> None:
  """Closes the manager and removes what a failed save left half-written (orbax's *-tmp
  folders, which no restore would read)."""
  manager.close()
  if is_primary():
    directory = str(manager.directory)
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
      if name.endswith(".orbax-checkpoint-tmp"):
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def checksum(state, meta: dict) -> str:
  """SHA-256 of the state's bytes and of the metadata, so that a restore can tell a damaged
  checkpoint from a good one (orbax verifies neither)."""
  h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
  for v in jax.tree_util.tree_leaves(state):
    h.update(np.ascontiguousarray(host(v)).tobytes())
  return h.hexdigest()


def save(manager, step: int, state, meta: dict) -> None:
  meta = dict(meta, checksum=checksum(state, meta))
  try:
    manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                               meta=ocp.args.JsonSave(meta)), force=True)
  except Exception as e:   # orbax wraps the OSError
    if no_space(e):
      needed = sum(v.nbytes for v in jax.tree_util.tree_leaves(state))
      # The half-written step: orbax leaves it behind.
      shutil.rmtree(os.path.join(str(manager.directory), f"{step}.orbax-checkpoint-tmp"),
                    ignore_errors=True)
      raise disk_full(str(manager.directory), needed) from None
    raise


def restore_latest(manager, template, repair: bool = True):
  """(state, meta) of the newest checkpoint that reads back with its checksum, `template`
  giving the state's structure; one warning line for each damaged one passed over (a checkpoint
  without a checksum counts as damaged: nothing proves it intact). `repair`: delete the damaged
  ones, which the resumed run saves again."""
  steps = sorted(manager.all_steps(), reverse=True)
  damaged = []
  for step in steps:
    where = os.path.join(str(manager.directory), str(step))
    try:
      got = manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(template), meta=ocp.args.JsonRestore()))
      meta = dict(got["meta"])
      saved = meta.pop("checksum", None)
      if saved is None:
        raise ValueError("it has no checksum")
      if saved != checksum(got["state"], meta):
        raise ValueError("its checksum does not match its contents")
    except Exception as e:   # orbax raises many types for damaged files; all mean the same here
      reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
      damaged.append((step, where, reason))
      continue
    for _, where, reason in damaged:
      log(f"warning: checkpoint {where} is damaged ({reason}); using step {step}",
          file=sys.stderr)
    for bad, _, _ in damaged if repair else ():
      if is_primary():
        shutil.rmtree(os.path.join(str(manager.directory), str(bad)), ignore_errors=True)
    if repair:
      manager.reload()
    return got["state"], meta
  raise WorkdirError(f"no readable checkpoint in {manager.directory} (steps "
                     f"{', '.join(str(s) for s, _, _ in damaged)} are damaged); rerun with "
                     "--overwrite to start over")
