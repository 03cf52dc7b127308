"""A sweep's wall time, predicted from short timed runs of its experiments, each run as the sweep
runs it (launch.py, one process per program pinned to one core when --workers > 1).

  .venv/bin/python benchmarks/predict_sweep.py --sweep=figure9 --workers=2 --train_size=12000 \\
      --sweep_args="--set=train_eval=last_pass" --json=benchmarks/predict_figure9.json

- Training experiments: two passes with --seeds on --train_size images (the first compiles).
  A full pass is pass 2's training time scaled to the full training set plus its evaluation;
  an experiment takes setup + passes x a full pass, setup being everything else measured.
- Baselines (no training loop): their total_seconds in --results/NAME/results.json when it
  exists, else timed whole.
- Experiments built on a trained run (derived: lenet4_knn, boosted_lenet4): run at the same
  scale on the timed run they build on; their training is scaled as above, the rest by the
  ratio of the training set sizes (boosting's filtering by --filter_factor more: a fully
  trained net errs less often, so a set of its errors takes more draws).
Then the programs are handed out in the sweep's order to the first free worker.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import experiments  # noqa: E402
from lenet_jax import paper, sweep  # noqa: E402
from lenet_jax.files import write_json  # noqa: E402

FULL = paper.TRAIN_IMAGES


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--sweep", required=True, help="the sweep (lenet_jax/sweeps.py)")
  p.add_argument("--seeds", type=int, default=5, help="launch.py --seeds")
  p.add_argument("--epochs", default="20", help="passes, comma-separated for several")
  p.add_argument("--workers", type=int, default=1, help="launch.py --sweep_workers")
  p.add_argument("--train_size", type=int, default=FULL, help="training images of the timed runs")
  p.add_argument("--sweep_args", default="", help="more launch.py flags, space-separated")
  p.add_argument("--results", default=str(REPO / "results" / "figure9"),
                 help="where finished baselines' results.json give their seconds")
  p.add_argument("--filter_factor", type=float, default=3.0,
                 help="boosting's filtering at full scale over its timed share (see above)")
  p.add_argument("--json", default="", help="also write the prediction here")
  p.add_argument("--reschedule", default="",
                 help="a prediction's JSON: its experiments' seconds handed out again in the "
                      "sweep's present order, nothing timed")
  args = p.parse_args(argv)
  args.epochs = [int(e) for e in args.epochs.split(",")]
  if min(args.epochs) < 2 or args.workers < 1 or args.seeds < 1 or args.train_size < 100:
    p.error("--epochs >= 2, --workers and --seeds >= 1, --train_size >= 100")
  return args


def kind(name: str) -> str:
  module = experiments.load(name)
  if "seeds" not in module.get_config():
    return "baseline"
  return "derived" if hasattr(module, "run") else "training"


def _launch(args, name, workdir, core, whole=False):
  argv = [sys.executable, str(REPO / "launch.py"), f"--experiment={name}", f"--workdir={workdir}",
          "--noprogress", "--overwrite"]
  if not whole:   # a baseline has none of the training flags
    argv += args.sweep_args.split()
    argv += [f"--seeds={args.seeds}", "--epochs=2", f"--set=train_size={args.train_size}"]
    if name == "boosted_lenet4":
      argv.append(f"--set=set_size={args.train_size}")
  if core is not None:
    argv.append(f"--cpu_core={core}")
  log = f"{workdir}.log"   # a file, not a pipe: a child that writes much never blocks
  with open(log, "w") as err:
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO)
  return {"name": name, "workdir": workdir, "t0": time.perf_counter(), "child": child, "log": log}


def _wait(jobs) -> dict[str, float]:
  """Each job's wall time, taken when it ends (not when the others do)."""
  walls = {}
  while len(walls) < len(jobs):
    for job in jobs:
      if job["name"] not in walls and job["child"].poll() is not None:
        walls[job["name"]] = time.perf_counter() - job["t0"]
        if job["child"].returncode != 0:
          err = Path(job["log"]).read_text(errors="replace")
          raise SystemExit(f"{job['name']}: exit {job['child'].returncode}: {err[-800:]}")
    time.sleep(0.2)
  return walls


def _read(path) -> dict:
  return json.loads(Path(path).read_text())


def run_model(results: dict, scale: float, last_pass: bool) -> dict:
  """setup_s and pass_s (at full scale) of a timed two-pass run's results.json (`wall`: the
  process's wall time): it predicts setup_s + (passes - 1) * pass_s seconds."""
  p1, p2 = results["lanes"][0]["passes"][:2]
  held = results["test_images"] + results["config"].get("validation", 0)
  # Pass 2 is the run's last: its evaluation measured the training set too.
  test_eval = p2["eval_seconds"] * held / (results["train_images"] + held)
  train_eval = p2["eval_seconds"] - test_eval
  mid = p2["seconds"] * scale + test_eval + (0.0 if last_pass else train_eval * scale)
  measured = p1["seconds"] + p2["seconds"] + p1["eval_seconds"] + p2["eval_seconds"]
  compile_s = (p1["seconds"] - p2["seconds"]) + max(
      0.0, p1["eval_seconds"] - test_eval - (0.0 if last_pass else train_eval))
  final_eval = train_eval * scale if last_pass else 0.0
  setup = results["wall"] - measured + compile_s + mid + final_eval
  return {"setup_s": setup, "pass_s": mid}


def predict_boosted(workdir: str, scale: float, epochs: int, last_pass: bool, factor: float,
                    wall: float) -> float:
  """Boosting's seconds: each of its nets as a training run, the filtering scaled."""
  total, inside = 0.0, 0.0
  for net in sorted(d for d in os.listdir(workdir) if d.startswith("net")):
    r = _read(os.path.join(workdir, net, "results.json"))
    r["wall"] = r["total_seconds"]
    m = run_model(r, scale, last_pass)
    total += m["setup_s"] + (epochs - 1) * m["pass_s"]
    cost = _read(os.path.join(workdir, net, "filter.json"))
    total += cost["seconds"] * scale * factor
    inside += r["total_seconds"] + cost["seconds"]
  return total + max(0.0, wall - inside)


def wall(names, seconds: dict, workers: int) -> float:
  """The wall time of programs handed out in order to the first free of `workers`."""
  finish = [0.0] * max(workers, 1)
  for n in names:
    heapq.heapreplace(finish, finish[0] + seconds[n])
  return max(finish)


def schedule(names, per: dict, args) -> list[dict]:
  """The sweep's wall time for each number of passes."""
  predictions = []
  for e in args.epochs:
    total = wall(names, per[e], args.workers)
    print(f"predicted: --sweep={args.sweep} --seeds={args.seeds} --epochs={e} "
          f"--sweep_workers={args.workers} {args.sweep_args}: {len(names)} experiments, "
          f"{total / 60:.1f} min ({total / 3600:.2f} h)")
    predictions.append({"epochs": e, "per_experiment_s": per[e], "predicted_s": total})
  return predictions


def predict(args) -> dict:
  names = sweep.get(args.sweep)
  kinds = {n: kind(n) for n in names}
  scale = FULL / args.train_size
  last_pass = "--set=train_eval=last_pass" in args.sweep_args
  cores = sorted(os.sched_getaffinity(0))[:args.workers] if args.workers > 1 else [None]
  tmp = tempfile.mkdtemp(prefix="predict_sweep_")
  walls, per = {}, {e: {} for e in args.epochs}
  baselines = [n for n in names if kinds[n] == "baseline"]
  for n in baselines:
    done = Path(args.results, n, "results.json")
    if done.exists():
      for e in args.epochs:
        per[e][n] = _read(done)["total_seconds"]
  todo = [n for n in names if kinds[n] == "training"] + [
      n for n in names if kinds[n] == "derived"] + [n for n in baselines if n not in per[
          args.epochs[0]]]
  while todo:   # the derived ones after the runs they build on: they come later in todo
    jobs = [_launch(args, n, os.path.join(tmp, n), c, whole=kinds[n] == "baseline")
            for n, c in zip(todo, cores)]
    todo = todo[len(jobs):]
    for n, wall in _wait(jobs).items():
      walls[n] = wall
      for e in args.epochs:
        if kinds[n] == "baseline":
          per[e][n] = wall
        elif kinds[n] == "training":
          r = dict(_read(os.path.join(tmp, n, "results.json")), wall=wall)
          m = run_model(r, scale, last_pass)
          per[e][n] = m["setup_s"] + (e - 1) * m["pass_s"]
        elif n == "boosted_lenet4":
          per[e][n] = predict_boosted(os.path.join(tmp, n), scale, e, last_pass,
                                      args.filter_factor, wall)
        else:
          per[e][n] = wall * scale
      print(f"  {n} ({kinds[n]}): timed {wall:.0f}s, predicted {per[args.epochs[-1]][n]:.0f}s",
            flush=True)
  predictions = schedule(names, per, args)
  return {"sweep": args.sweep, "seeds": args.seeds, "workers": args.workers,
          "train_size": args.train_size, "sweep_args": args.sweep_args, "timed_wall_s": walls,
          "predictions": predictions}


def main(argv=None):
  args = parse_args(argv)
  if args.reschedule:
    r = _read(args.reschedule)
    per = {p["epochs"]: p["per_experiment_s"] for p in r["predictions"]}
    r.update(predictions=schedule(sweep.get(args.sweep), per, args),
             rescheduled_from=args.reschedule, order=sweep.get(args.sweep))
  else:
    r = predict(args)
  if args.json:
    write_json(args.json, r)


if __name__ == "__main__":
  main()
