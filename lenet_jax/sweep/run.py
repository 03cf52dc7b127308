"""Running a sweep: experiments trained into one folder each, those that differ only in lane
fields trained together as one program, finished ones skipped, the summary after each."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Optional, Sequence

from lenet_jax import data, files, interrupt, train
from lenet_jax.sweep import summary
from lenet_jax import results as results_lib
from lenet_jax.results import lane_record
from lenet_jax.config import LANE_FIELDS
from lenet_jax.lanes import lanes_of
from lenet_jax.multihost import is_primary, log
from lenet_jax.workdir import check_same_config, read_results


def _shared(config) -> str:
  """What configs must agree on to train in one program: everything but the experiment's name
  and the lane fields (and the seed too when it draws the training subset)."""
  fields = config.to_dict()
  skip = {"experiment", "about", *LANE_FIELDS} - ({"seed"} if fields.get("train_subset") == "random"
                                         else set())
  return json.dumps({k: v for k, v in fields.items() if k not in skip}, sort_keys=True)


def plan(names: list[str], configs: list) -> list[tuple[list[str], Any]]:
  """Groups experiments that differ only in lane fields (seed, sdlm_mu, map_j, learning_rate)
  into one vmapped program each: [(member names, config to train)], in the order of first
  members. A group's config is its first member's with `experiment` "a+b+..." and one entry of
  `lane_sets` per member (so its lanes are the members' lanes, one member after another); a
  lone experiment trains its own config."""
  groups: dict[str, list[int]] = {}
  for i, config in enumerate(configs):
    # Only training configs group (the others have no lanes); those of lane sets already alone.
    key = _shared(config) if not config.get("lane_sets", True) else f"alone:{i}"
    groups.setdefault(key, []).append(i)
  out = []
  for members in groups.values():
    if len(members) == 1:
      out.append(([names[members[0]]], configs[members[0]]))
      continue
    merged = configs[members[0]].copy_and_resolve_references()
    merged.experiment = "+".join(names[i] for i in members)
    merged.lane_sets = tuple({f: configs[i][f] for f in LANE_FIELDS} for i in members)
    out.append(([names[i] for i in members], merged))
  return out


def member_results(results: dict, group_config, names: list[str], configs: list,
                   workdir: str) -> list[dict]:
  """A grouped run's results split into one results dict per member, as if it had trained
  alone: its name, config, paper number and lanes (overrides relative to its own config). The
  timings are the whole program's; `trained_with` names the group and its workdir."""
  trained = lanes_of(group_config)   # the lanes' field values, in results' order
  per = len(trained) // len(names)
  out = []
  for k, (name, config) in enumerate(zip(names, configs)):
    lanes = [dict(lane, overrides=lane_record(values, config)["overrides"])
             for lane, values in zip(results["lanes"][k * per:(k + 1) * per],
                                     trained[k * per:(k + 1) * per])]
    r = dict(results, experiment=name, config=json.loads(json.dumps(config.to_dict())),
             paper_test_error=results_lib.paper_test_error(config), lanes=lanes,
             trained_with={"experiments": names, "workdir": workdir})
    if results["status"] in ("done", "stalled") and not any(
        l["status"] in ("done", "stalled") for l in lanes):
      r["status"] = "diverged"
    if len(lanes) == 1:
      r["passes"], r["final_test_error"] = lanes[0]["passes"], lanes[0].get("final_test_error")
    out.append(r)
  return out


def finished(workdir: str, config, overwrite: bool = False):
  """The results in workdir if a run of `config` finished there (done or diverged), else None.
  A finished run of another config raises WorkdirError, as resuming one would."""
  path = os.path.join(workdir, "results.json")
  if overwrite or not os.path.exists(path):
    return None
  results = read_results(path)
  if results["status"] not in ("done", "diverged", "stalled"):
    return None
  check_same_config(results["config"], config, workdir)
  return results


def run(names: list[str], configs: list, root: str, train_fn: Callable[[Any, str], dict], *,
        overwrite: bool = False, only: Optional[str] = None) -> dict[str, dict]:
  """Trains the experiments `names` (their `configs`) into root/NAME with train_fn(config,
  workdir) (train_and_evaluate, or launch's wrapper of it) and writes root/summary.* after each
  program. Experiments that differ only in lane fields train as one program (plan) in
  root/A+B+..., and each still gets root/NAME/results.json. Finished experiments are skipped;
  an interrupted program resumes from its checkpoints when run again. `only`: train just the
  program of that label (a worker of run_workers), without writing the summary. Returns name ->
  results."""
  results = {n: finished(os.path.join(root, n), c, overwrite) for n, c in zip(names, configs)}
  todo = [i for i, n in enumerate(names) if results[n] is None]
  count = 0
  for n in names:
    if results[n] is not None:
      count += 1
      log(f"[{count}/{len(names)}] {n}: done already, skipped")

  def write_summary():
    if only is None and is_primary() and any(r is not None for r in results.values()):
      summary.write_summary([(n, r) for n, r in results.items() if r is not None], root,
                            _about(names, configs))

  write_summary()
  for members, config in plan([names[i] for i in todo], [configs[i] for i in todo]):
    label = "+".join(members)
    if only is not None and label != only:
      continue
    workdir = os.path.join(root, label)
    count += len(members)
    together = f" (trained together: {', '.join(members)})" if len(members) > 1 else ""
    log(f"[{count}/{len(names)}] {label} -> {workdir}{together}")
    try:
      got = train_fn(config, workdir)
    except train.DivergenceError as e:
      # Every lane diverged: its results.json says so, and the sweep goes on.
      log(f"{label}: {e}", file=sys.stderr)
      got = read_results(os.path.join(workdir, "results.json"))
    if len(members) == 1:
      results[members[0]] = got
    else:
      member_configs = [configs[names.index(m)] for m in members]
      for m, r in zip(members, member_results(got, config, members, member_configs, workdir)):
        if is_primary():
          results_lib.write(os.path.join(root, m), r)
        results[m] = r
    write_summary()
  return results


def sweep(names: list[str], configs: list, root: str, train_fn: Callable[[Any, str], dict], *,
          cores: Sequence[int], worker_command: Callable[[str, int], list[str]],
          only: Optional[str] = None, overwrite: bool = False) -> Optional[tuple[str, int]]:
  """A whole sweep: with several `cores` (and not a worker itself, `only`), its programs in
  pinned worker processes (run_workers), the data read first so that a bad file fails before
  anything is written; then run() for what is left (everything, with one core; nothing, after
  the workers). Returns None, or (the failure's message, its exit code)."""
  if len(cores) > 1 and only is None:
    labels = todo_labels(names, configs, root, overwrite)
    interrupt.check()
    if labels:
      data.load_mnist(configs[0].get("mnist_dir") or None, train_size=1)
    failure = run_workers(labels, worker_command, root, cores, dict(os.environ),
                          on_done=lambda: write_finished_summary(names, configs, root))
    if failure:
      return failure
  run(names, configs, root, train_fn, only=only,
      overwrite=overwrite and len(cores) == 1)   # the workers overwrote already
  return None


def worker_command(argv: Sequence[str], label: str, core: int) -> list[str]:
  """The command line argv (launch.py's) as the worker that trains the program `label` pinned to
  `core`: its own worker flags in place of the coordinator's, no progress bar."""
  ours = ("--sweep_workers", "--sweep_program", "--cpu_core")
  args, skip = [], False
  for arg in argv[1:]:
    if skip or arg.startswith((*ours, "--progress", "--noprogress")):
      skip = arg in ours   # the value is the next argument
      continue
    args.append(arg)
  return [sys.executable, os.path.abspath(argv[0]), *args, "--sweep_workers=1",
          f"--sweep_program={label}", f"--cpu_core={core}", "--noprogress"]


def todo_labels(names: list[str], configs: list, root: str, overwrite: bool = False) -> list[str]:
  """The labels (members joined by +) of the programs run() would still train, in its order."""
  todo = [i for i, (n, c) in enumerate(zip(names, configs))
          if finished(os.path.join(root, n), c, overwrite) is None]
  return ["+".join(m) for m, _ in plan([names[i] for i in todo], [configs[i] for i in todo])]


def write_finished_summary(names: list[str], configs: list, root: str) -> None:
  """root/summary.* of the experiments of the sweep that have finished so far, written by the
  coordinator of run_workers (one process, which must not start XLA: _say)."""
  done = [(n, finished(os.path.join(root, n), c)) for n, c in zip(names, configs)]
  done = [(n, r) for n, r in done if r is not None]
  if done:
    summary.write_summary(done, root, _about(names, configs))


def run_workers(labels: Sequence[str], command: Callable[[str, int], list[str]], root: str,
                cores: Sequence[int], env: dict,
                on_done: Callable[[], None] = lambda: None) -> Optional[tuple[str, int]]:
  """Trains the programs `labels` in child processes, one per core of `cores` at a time, each
  pinned to its core (so XLA sees one device; lenet_jax.devices.split_host): on CPU two pinned
  processes train more images per second than one process over both cores (benchmarks/
  RESULTS.md). command(label, core) is the argv of a child that pins itself to core (a fork
  that pinned it would run Python in a copy of this multithreaded process); its output goes to
  root/logs/LABEL.txt; on_done() runs after each child that succeeded (the summary so far).
  SIGINT or SIGTERM is passed on to the children, which checkpoint and stop. Returns None when
  every child succeeded, else (the first failure's message, its exit code); no new child starts
  after a failure, and a log or a summary that cannot be written is one (the children running
  then finish first). A root/logs that cannot be made is a files.WriteError before any child."""
  if not labels:
    return None
  logs = os.path.join(root, "logs")
  with files.writing(logs):
    os.makedirs(logs, exist_ok=True)
  pending, running, failure = list(labels), {}, None   # running: core -> (label, Popen, start)
  stop = []   # the signals received

  def forward(signum, frame):
    del frame
    stop.append(signum)
    for _, child, _ in running.values():
      child.send_signal(signum)
  previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    while running or (pending and failure is None and not stop):
      for core in cores:
        if core not in running and pending and failure is None and not stop:
          label = pending.pop(0)
          try:
            child = _start_child(command(label, core), os.path.join(logs, f"{label}.txt"), env)
          except files.WriteError as e:
            failure = (str(e), 2)
            continue
          running[core] = (label, child, time.time())
          if stop:   # a signal that came while it started
            child.send_signal(stop[-1])
          _say(f"{label}: started on core {core} (log {os.path.join(logs, label)}.txt)")
      time.sleep(0.5)
      for core, (label, child, start) in list(running.items()):
        if child.poll() is None:
          continue
        del running[core]
        ended = _ended(label, child, start, logs, on_done)   # the first failure is reported
        failure = failure or ended
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)
  if stop and failure is None:
    failure = (f"{signal.Signals(stop[-1]).name} received: {len(pending)} program(s) not started; "
               "rerun the same command to resume", 130)
  return failure


def _start_child(argv: list[str], log: str, env: dict) -> subprocess.Popen:
  """A worker whose output goes to `log` (appended); files.WriteError if it cannot be opened."""
  with files.writing(log):
    out = open(log, "a")
  with out:
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env)


def _ended(label: str, child, start: float, logs: str,
           on_done: Callable[[], None]) -> Optional[tuple[str, int]]:
  """What a finished child means for the sweep: None after a success (and on_done() run), else
  (the failure's message, its exit code). A summary that on_done() cannot write is a failure,
  not an exception that would leave the other children running unwatched."""
  minutes = (time.time() - start) / 60
  if child.returncode != 0:
    code = 130 if child.returncode in (130, -signal.SIGINT, -signal.SIGTERM) else 2
    return (f"{label} stopped with exit code {child.returncode} after {minutes:.1f} min: "
            f"{_last_error(os.path.join(logs, label + '.txt'))}", code)
  _say(f"{label}: finished in {minutes:.1f} min")
  try:
    on_done()
  except ValueError as e:   # files.WriteError; a results.json that no longer reads back
    return str(e), 2
  return None


def _about(names, configs) -> dict:
  """What each experiment declares (config.about, from experiments.get_config), by name."""
  return {n: c.get("about") for n, c in zip(names, configs)}


def _say(message: str) -> None:
  """print: multihost.log would ask jax.process_index(), which starts XLA's threads in this
  process, and JAX then warns of a deadlock at each fork of a child."""
  print(message, flush=True)


def _last_error(path: str) -> str:
  """The child's last `error:` line (launch.py's one-line errors), else its last line."""
  try:
    with open(path, errors="replace") as f:
      lines = [l.strip() for l in f.read().replace("\r", "\n").splitlines() if l.strip()]
  except OSError as e:
    return f"its log {path} cannot be read ({e.strerror or e})"
  errors = [l[len("error:"):].strip() for l in lines if l.startswith("error:")]
  return (errors or lines or ["(no output)"])[-1]
