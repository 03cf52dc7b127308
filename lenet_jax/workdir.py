"""A run's folder: whether it may be used, and its orbax checkpoints (exact resume)."""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from typing import Any, NamedTuple

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


class NoCheckpoint(WorkdirError):
  """Checkpoints exist, but none reads back with its checksum."""


# Config fields that do not change what a run computes, so a workdir may be resumed with others.
RESUMABLE_DIFFERENCES = ("mnist_dir", "eval_batch_size", "lane_group", "expect_stall", "about")
LOCK, OWNER = ".lock", ".lock.owner"
FINISHED = ("done", "stalled")
# Checkpoints below a path holding these are written but never read back: orbax finds their
# array metadata with glob on the whole path (etils.epath), which reads [...] as a pattern, and
# tensorstore's file store takes a backslash for a separator (it writes below another folder).
UNREADABLE_CHARS = "[]\\"
ORBAX_TMP = ".orbax-checkpoint-tmp"


def config_mismatch(saved: dict, config) -> list[str]:
  """The fields in which a saved config (as results.json holds it) differs from `config`,
  leaving out those that do not change what a run computes."""
  as_json = lambda c: json.loads(json.dumps(c.to_dict()))
  now, default = as_json(config), as_json(config_lib.paper_config())
  keys = sorted((set(saved) | set(now)) - set(RESUMABLE_DIFFERENCES))
  # A field added to the config after a run was saved: the run had its default.
  same = lambda k: saved.get(k, default.get(k)) == now.get(k)
  return [k for k in keys if not same(k)]


def check_same_config(saved: dict, config, workdir: str, what: str = "results") -> None:
  """WorkdirError if the results (or checkpoints) saved in workdir are of another config."""
  diff = config_mismatch(saved, config)
  if diff:
    raise WorkdirError(
        f"workdir {workdir!r} holds {what} of a different config (differs in: "
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
  """This process's hold on workdir; WorkdirError naming the run that holds it already, or the
  lock file that cannot be written. The operating system releases it when the process ends,
  however it ends."""
  path, owner = os.path.join(workdir, LOCK), os.path.join(workdir, OWNER)
  lock = filelock.FileLock(path)
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
  except OSError as e:   # a directory in its place, not writable, a full disk
    raise files.write_error(path, e) from None
  try:
    files.write_json(owner, {"pid": os.getpid(), "host": platform.node(),
                             "started": datetime.datetime.now().isoformat(timespec="seconds"),
                             "command": " ".join(sys.argv)})
  except BaseException:
    lock.release()
    raise
  return lock


def _check_path(workdir: str) -> None:
  """WorkdirError if checkpoints written below workdir could not be read back."""
  full = os.path.abspath(workdir)
  bad = sorted({c for c in full if c in UNREADABLE_CHARS})
  if bad:
    raise WorkdirError(
        f"workdir {full!r} has {' '.join(bad)} in its path, where orbax could not read its "
        "checkpoints back (it takes [...] for a pattern and \\ for a separator); choose a "
        "--workdir whose full path has none of [ ] \\")


class Prepared(NamedTuple):
  lock: Any             # the workdir's lock (None on the other processes); the caller releases it
  resumable: bool       # checkpoints exist to resume from
  created: bool         # this call created workdir
  saved: dict | None    # the results.json already there, this config's (None: none)


def prepare(workdir: str, config, overwrite: bool) -> Prepared:
  """Creates workdir and takes its lock, removes what writes cut short left, and checks that
  the results already in it are this config's (everything else has been checked before: this
  is the first write)."""
  _check_path(workdir)
  results_path = os.path.join(workdir, "results.json")
  ckpt_dir = os.path.join(workdir, "checkpoints")
  new = not os.path.exists(workdir)
  try:
    os.makedirs(workdir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=workdir, prefix=files.TMP_PREFIX + "probe")
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):   # the lock's holder clearing leftovers
      os.unlink(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir!r} is not writable ({e.strerror}); choose another "
                       "--workdir") from None
  lock = _lock(workdir) if is_primary() else None
  try:
    if is_primary():
      _remove_leftovers(workdir)
    if overwrite:
      if is_primary():
        for path in (results_path, ckpt_dir):
          with files.writing(path):
            if os.path.isdir(path):
              shutil.rmtree(path)
            elif os.path.lexists(path):
              os.unlink(path)
      return Prepared(lock, False, new, None)
    saved = None
    if os.path.exists(results_path):
      saved = read_results(results_path)
      check_same_config(saved["config"], config, workdir)
    steps = os.path.isdir(ckpt_dir) and any(d.isdigit() for d in os.listdir(ckpt_dir))
    return Prepared(lock, steps, new, saved)
  except BaseException:
    if lock is not None:
      lock.release()
    raise


def _remove_leftovers(workdir: str) -> None:
  """What writes cut short by a SIGKILL left: atomic writes' temporary files, orbax's
  half-written checkpoint folders (no restore reads either)."""
  files.remove_leftovers(workdir)
  ckpt_dir = os.path.join(workdir, "checkpoints")
  for name in os.listdir(ckpt_dir) if os.path.isdir(ckpt_dir) else ():
    if ORBAX_TMP in name:
      with files.writing(os.path.join(ckpt_dir, name)):
        shutil.rmtree(os.path.join(ckpt_dir, name))


def checkpoint_manager(workdir: str, keep: int, create: bool = True):
  """workdir/checkpoints' orbax manager (create=False: for reading only)."""
  # Synchronous saves: the state is donated to the next training call right after a save.
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                         enable_async_checkpointing=False, read_only=not create)
  directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
  with files.writing(directory):
    return ocp.CheckpointManager(directory, options=options)


def close(manager) -> None:
  """Closes the manager and removes what a failed save left half-written (orbax's *-tmp
  folders, which no restore would read)."""
  manager.close()
  if is_primary():
    directory = str(manager.directory)
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
      if ORBAX_TMP in name:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def checksum(state, meta: dict) -> str:
  """SHA-256 of the state's bytes and of the metadata, so that a restore can tell a damaged
  checkpoint from a good one (orbax verifies neither)."""
  h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
  for v in jax.tree_util.tree_leaves(state):
    h.update(np.ascontiguousarray(host(v)).tobytes())
  return h.hexdigest()


def save(manager, step: int, state, meta: dict) -> None:
  """Checkpoint `step`: the state and `meta`, with their checksum. One already at `step` is
  replaced: a mid-pass checkpoint at a pass's last step (earlier versions wrote one on a signal
  in that call) is superseded by the end-of-pass one, of the same training state."""
  meta = dict(meta, checksum=checksum(state, meta))
  where = os.path.join(str(manager.directory), str(step))
  try:
    if step in manager.all_steps():
      manager.delete(step)
    manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                               meta=ocp.args.JsonSave(meta)), force=True)
  except Exception as e:   # orbax wraps the OSError
    if not files.no_space(e) and files.os_error(e) is None:
      raise
    # The half-written step: orbax leaves it behind.
    shutil.rmtree(where + ORBAX_TMP, ignore_errors=True)
    needed = sum(v.nbytes for v in jax.tree_util.tree_leaves(state))
    raise files.write_error(where, e, needed) from None


def _first_line(e: BaseException) -> str:
  return str(e).splitlines()[0][:160] if str(e) else type(e).__name__


def _restore_checked(manager, step: int, template):
  """(state, meta without its checksum) of checkpoint `step`; ValueError unless its checksum
  holds (one without a checksum is not trusted: nothing proves it intact)."""
  got = manager.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(template), meta=ocp.args.JsonRestore()))
  meta = dict(got["meta"])
  saved = meta.pop("checksum", None)
  if saved is None:
    raise ValueError("it has no checksum")
  if saved != checksum(got["state"], meta):
    raise ValueError("its checksum does not match its contents")
  return got["state"], meta


def _another_model(manager, step: int, template, config) -> str | None:
  """Why checkpoint `step`, which does not restore into `template`, is another model's (None:
  nothing says so; then it is damaged)."""
  try:
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    diff = config_mismatch(meta["results"]["config"], config) if config is not None else []
  except Exception:   # its metadata unreadable: nothing to judge by
    diff = []
  if diff:
    return f"a different config, differing in: {', '.join(diff)}"
  try:
    saved = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore()))["state"]
  except Exception:
    return None
  shapes = lambda tree: sorted(tuple(np.shape(v)) for v in jax.tree_util.tree_leaves(tree))
  if shapes(saved) != shapes(template):
    return "its arrays' shapes are not this config's"
  return None


def restore_latest(manager, template, repair: bool = True, config=None):
  """(state, meta) of the newest checkpoint that reads back with its checksum (meta["step"]: its
  step), `template` giving the state's structure; one warning line for each damaged one passed
  over (a checkpoint without a checksum counts as damaged: nothing proves it intact). `repair`: delete the damaged
  ones, which the resumed run saves again. With `config`: WorkdirError if the checkpoint is of
  another config; one that does not fit `template` is another model's, not damaged."""
  workdir = os.path.dirname(str(manager.directory))
  damaged = []
  for step in sorted(manager.all_steps(), reverse=True):
    where = os.path.join(str(manager.directory), str(step))
    try:
      state, meta = _restore_checked(manager, step, template)
    except Exception as e:   # orbax raises many types for damaged files; all mean the same here
      other = _another_model(manager, step, template, config)
      if other:
        raise WorkdirError(f"checkpoint {where} is another model's ({other}); use another "
                           "--workdir, or --overwrite to replace it") from None
      damaged.append((step, where, _first_line(e)))
      continue
    if config is not None:
      check_same_config(meta["results"].get("config", {}), config, workdir, "checkpoints")
    for _, where, reason in damaged:
      log(f"warning: checkpoint {where} is damaged ({reason}); using step {step}",
          file=sys.stderr)
    for bad, _, _ in damaged if repair else ():
      if is_primary():
        shutil.rmtree(os.path.join(str(manager.directory), str(bad)), ignore_errors=True)
    if repair:
      manager.reload()
    return state, dict(meta, step=step)
  steps = ", ".join(str(s) for s, _, _ in damaged) or "none"
  first = f"; {damaged[0][2]}" if damaged else ""
  raise NoCheckpoint(f"no readable checkpoint in {manager.directory} (damaged: {steps}{first}); "
                     "rerun with --overwrite to start over")


def resume(manager, template, config, prepared: Prepared):
  """(state, meta) of the newest intact checkpoint of this config in prepared's workdir; if
  there is none, a WorkdirError that says whether a finished run's results.json stands."""
  try:
    return restore_latest(manager, template, config=config)
  except NoCheckpoint:
    saved = prepared.saved
    if saved is not None and saved["status"] in FINISHED:
      workdir = os.path.dirname(str(manager.directory))
      raise WorkdirError(
          f"workdir {workdir!r} holds a finished run (results.json intact) but its checkpoints "
          "are damaged: the results stand; to train again use --overwrite or another "
          "--workdir") from None
    raise


def log_to(workdir: str) -> logging.Handler:
  """Everything logged (orbax, JAX, absl) goes to workdir/log.txt: the terminal shows
  lenet_jax's own lines, the details are there. Its first line, the command, is written at once:
  a log.txt that cannot be written is one error before training."""
  path = os.path.join(workdir, "log.txt")
  with files.writing(path):
    handler = _QuietFileHandler(path)
    try:
      handler.stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} lenet_jax INFO run: "
                           f"{' '.join(sys.argv)}\n")
      handler.stream.flush()
    except OSError:
      handler.close()
      raise
  handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
  logging.getLogger().addHandler(handler)
  return handler


def stop_logging(handler: logging.Handler) -> None:
  logging.getLogger().removeHandler(handler)
  handler.close()


class _QuietFileHandler(logging.FileHandler):
  """log.txt's handler: a record that cannot be written later (a full disk) is dropped without
  the traceback logging would print; the run's own writes say what failed."""

  def handleError(self, record) -> None:
    del record

  def close(self) -> None:
    try:
      super().close()
    except OSError:   # flushing what a full disk refused
      pass
