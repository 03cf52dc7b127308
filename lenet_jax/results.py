"""results.json: what a run measured, per lane and per pass, and where it ran (provenance).
Importing it loads no JAX, so that the summary and the report can read results without it."""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess

from lenet_jax import files, paper
from lenet_jax.config import LANE_FIELDS


def lanes(results: dict) -> list[dict]:
  """The models of a run. Files written before lanes existed (results/*.json of the first runs)
  hold one model at the top level: read as one lane."""
  if "lanes" in results:
    return results["lanes"]
  lane = {"seed": results.get("config", {}).get("seed", 0), "overrides": {},
          "passes": results.get("passes", []), "status": results.get("status", "done")}
  if "final_test_error" in results:
    lane["final_test_error"] = results["final_test_error"]
  return [lane]


def shape_problem(results) -> str | None:
  """What makes `results` not a results.json this code wrote (None: nothing): the fields that
  resuming, the sweep and the report read, with their types."""
  if not isinstance(results, dict):
    return f"it holds a {type(results).__name__}, not an object"
  for key, kind in (("config", dict), ("status", str), ("lanes", list)):
    if not isinstance(results.get(key), kind):
      return f"'{key}' is missing or not a{'n' if kind is dict else ''} {kind.__name__}"
  for k, lane in enumerate(results["lanes"]):
    if not isinstance(lane, dict) or not isinstance(lane.get("passes"), list):
      return f"lane {k} is not an object with a 'passes' list"
    for p in lane["passes"]:
      if not isinstance(p, dict) or not isinstance(p.get("test_error"), (int, float)):
        return f"lane {k} has a pass that is not an object with a numeric 'test_error'"
  return None


def write(workdir: str, results: dict) -> str:
  """workdir/results.json, the one writer of every run's record (training, a sweep's members,
  the baselines, the derived rows): checked to read back, written atomically, an OSError one
  files.WriteError naming the file (a full disk included). Returns the path."""
  problem = shape_problem(results)
  if problem:   # a bug in the caller: no reader would accept the file
    raise ValueError(f"results for {workdir} would not read back ({problem}); report this bug")
  path = os.path.join(workdir, "results.json")
  with files.writing(workdir):
    os.makedirs(workdir, exist_ok=True)
  files.write_json(path, results)
  return path


def lane_record(lane: dict, config) -> dict:
  """A lane's entry in results.json, before any pass: its seed and the lane fields in which it
  differs from `config`."""
  varied = {f: lane[f] for f in LANE_FIELDS if f != "seed" and lane[f] != config[f]}
  return {"seed": lane["seed"], "overrides": varied, "passes": [], "status": "running"}


def versions() -> dict:
  # Imported here, not at the top: reading results needs none of them.
  import flax
  import jax
  import numpy as np
  import optax
  return {"python": platform.python_version(), "jax": jax.__version__,
          "jaxlib": jax.lib.__version__ if hasattr(jax.lib, "__version__") else "",
          "flax": flax.__version__, "optax": optax.__version__, "numpy": np.__version__}


def device() -> dict:
  import jax
  d = jax.devices()[0]
  return {"platform": d.platform, "kind": d.device_kind, "count": jax.device_count(),
          "processes": jax.process_count(),
          "host": platform.node(), "cpu": platform.processor() or platform.machine(),
          "cpu_count": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", "")}


def commit() -> str:
  """The git commit of the code that runs ('' outside a checkout), '+' if it has changes."""
  here = os.path.dirname(os.path.abspath(__file__))
  try:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                          text=True, timeout=10).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return ""
  return head + ("+" if head and dirty else "")


def paper_test_error(config):
  """The paper's number for the experiment, as it declares it (experiments.about: config.about)."""
  return (config.get("about") or {}).get("paper_test_error")


def new(config, layers: list[dict], run_lanes: list[dict], n_params: int, train_images: int,
        test_images: int, lane_devices: int) -> dict:
  """The results of a run before its first pass."""
  return {
      "experiment": config.experiment, "parameters": n_params,
      "config": json.loads(json.dumps(config.to_dict())),   # as results.json holds it
      "layers": layers, "train_images": train_images, "test_images": test_images,
      "device": device(), "versions": versions(), "commit": commit(),
      "paper_test_error": paper_test_error(config), "passes": [],
      "lanes": [lane_record(lane, config) for lane in run_lanes], "status": "running",
      "lane_devices": lane_devices,
  }


def end_pass(results: dict, seconds: float) -> None:
  """Bookkeeping after a pass: a one-model run's passes at the top level, time and memory."""
  if len(results["lanes"]) == 1:
    results["passes"] = results["lanes"][0]["passes"]
    results["final_test_error"] = results["lanes"][0].get("final_test_error")
  results["total_seconds"] = seconds
  # Of this process so far (Linux reports KiB): the whole run's by the last pass.
  results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary_text(results: dict) -> str:
  """A finished run as launch.py prints it: per lane and over the lanes for several, else the
  run beside the paper's numbers."""
  lanes = results["lanes"]
  if len(lanes) > 1:
    lines = [f"\n{'seed':>5s}  {'overrides':24s} {'test error (%)':>14s} {'training (%)':>12s}  "
             "status"]
    finals = []
    for lane in lanes:
      last = lane["passes"][-1] if lane["passes"] else {}
      over = ", ".join(f"{k}={v}" for k, v in lane["overrides"].items()) or "-"
      te, tr = last.get("test_error", float("nan")), last.get("train_error", float("nan"))
      lines.append(f"{lane['seed']:5d}  {over:24s} {te:14.2f} {tr:12.2f}  {lane['status']}")
      if lane["status"] in ("done", "stalled"):
        finals.append(te)
    if finals:
      lines.append(f"test error over {len(finals)} finished lanes: mean "
                   f"{statistics.mean(finals):.2f}%, std "
                   f"{statistics.stdev(finals) if len(finals) > 1 else 0.0:.2f}, min "
                   f"{min(finals):.2f}, max {max(finals):.2f}; paper (one run): "
                   f"{results.get('paper_test_error') or '-'}")
    lines.append(f"seconds: {results['total_seconds']:.0f}")
    return "\n".join(lines)
  last = results["passes"][-1]
  reported = results.get("paper_test_error")
  lenet5 = reported == paper.TEST_ERROR
  cell = lambda v, fmt: format(v, fmt) if v is not None else "-"
  return "\n".join([
      "", f"{'':24s} {'this run':>10s} {'paper':>8s}",
      f"{'test error (%)':24s} {last['test_error']:10.2f} {cell(reported, '.2f'):>8s}",
      f"{'training error (%)':24s} {last['train_error']:10.2f} "
      f"{cell(paper.TRAIN_ERROR if lenet5 else None, '.2f'):>8s}",
      f"{'parameters':24s} {results['parameters']:10,d} "
      f"{cell(paper.PARAMETERS if lenet5 else None, ',d'):>8s}",
      f"{'passes':24s} {len(results['passes']):10d} {paper.EPOCHS:8d}",
      f"{'seconds':24s} {results['total_seconds']:10.0f}"])
