"""Named lists of experiments run together, with what each changes and the paper's number.

  SWEEPS["paper_ablations"]: c3_partial (the paper's recipe) and one experiment per design choice
  of the paper, each changing that one choice (modern changes several: the usual LeNet-5 of
  later code, for contrast).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

SWEEPS: dict[str, list[str]] = {
    "paper_ablations": [
        "c3_partial", "c3_full", "pool_avg", "pool_max", "act_logistic", "act_relu",
        "out_rbf_random", "out_linear", "loss_mle", "opt_sgd", "opt_adam", "init_default",
        "train_15k", "train_30k", "modern",
    ],
    "smoke": ["c3_partial", "c3_full", "pool_max"],
    # Which reading of the paper's SDLM is LeNet-5 (RESULTS.md): the first two train as one
    # program (they differ only in mu, a lane field).
    "sdlm_verdict": ["sdlm_paper", "sdlm_paper_mu025", "sdlm_paper_authors", "sdlm_refresh",
                     "init_paper_text"],
    # The paper's Figure 6: test error against training-set size.
    "figure6": ["train_15k", "train_30k", "c3_partial"],
}

# The choice of the paper's recipe each experiment changes (one line, for tables).
CHANGES: dict[str, str] = {
    "c3_partial": "the paper's recipe",
    "c3_full": "C3 fully connected to S2 (not Table I)",
    "pool_avg": "2x2 average pooling (not trainable subsampling)",
    "pool_max": "2x2 max pooling (not trainable subsampling)",
    "act_logistic": "logistic activation (not scaled tanh)",
    "act_relu": "ReLU activation (not scaled tanh)",
    "out_rbf_random": "random +-1 RBF codes (not 7x12 bitmaps)",
    "out_linear": "linear output + cross-entropy (not RBF + MAP)",
    "loss_mle": "MLE loss, Eq. 8 (not MAP, Eq. 9)",
    "opt_sgd": "plain SGD (not SDLM)",
    "opt_adam": "Adam, lr 1e-4 (not SDLM)",
    "init_default": "Flax default init (not +-2.4/fan-in)",
    "train_15k": "15,000 training images (not 60,000)",
    "train_30k": "30,000 training images (not 60,000)",
    "modern": "full C3, avg pool, ReLU, linear + CE, Adam 1e-3, batch 32",
    "sdlm_paper": "the paper's SDLM, the authors' init (+-1/sqrt(F))",
    "sdlm_paper_authors": "sdlm_paper + the authors' code's curvature choices",
    "sdlm_paper_mu025": "sdlm_paper with mu 0.25 (not 0.02)",
    "sdlm_refresh": "+-2.4/F, mu 0.25, h refreshed 17 more times in pass 1",
    "init_paper_text": "+-2.4/F init with the paper's SDLM (saturates)",
}

# Test error (%) the paper reports for an experiment's setting; only where it gives a number
# (Figure 6's 15k/30k errors are plotted, not stated: ../shared/reference/lenet5-paper-facts.md).
PAPER: dict[str, float] = {"c3_partial": 0.95, "sdlm_paper": 0.95, "sdlm_paper_authors": 0.95,
                           "sdlm_paper_mu025": 0.95, "sdlm_refresh": 0.95,
                           "init_paper_text": 0.95}


class UnknownSweep(ValueError):
  pass


def names() -> list[str]:
  return sorted(SWEEPS)


def get(name: str) -> list[str]:
  """The experiments of sweep `name`, in order."""
  if name not in SWEEPS:
    raise UnknownSweep(f"unknown sweep {name!r}; valid sweeps: " + ", ".join(names()))
  return list(SWEEPS[name])


def _shared(config) -> str:
  """What configs must agree on to train in one program: everything but the experiment's name
  and the lane fields (and the seed too when it draws the training subset)."""
  from lenet_jax.train import LANE_FIELDS
  fields = config.to_dict()
  skip = {"experiment", *LANE_FIELDS} - ({"seed"} if fields["train_subset"] == "random" else set())
  return json.dumps({k: v for k, v in fields.items() if k not in skip}, sort_keys=True)


def plan(names: list[str], configs: list) -> list[tuple[list[str], Any]]:
  """Groups experiments that differ only in lane fields (seed, sdlm_mu, map_j, learning_rate)
  into one vmapped program each: [(member names, config to train)], in the order of first
  members. A group's config is its first member's with `experiment` "a+b+..." and one entry of
  `lane_sets` per member (so its lanes are the members' lanes, one member after another); a
  lone experiment trains its own config."""
  groups: dict[str, list[int]] = {}
  for i, config in enumerate(configs):
    key = _shared(config) if not config.lane_sets else f"alone:{i}"
    groups.setdefault(key, []).append(i)
  out = []
  for members in groups.values():
    if len(members) == 1:
      out.append(([names[members[0]]], configs[members[0]]))
      continue
    from lenet_jax.train import LANE_FIELDS
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
  from lenet_jax import train
  trained = train.lanes_of(group_config)   # the lanes' field values, in results' order
  per = len(trained) // len(names)
  out = []
  for k, (name, config) in enumerate(zip(names, configs)):
    lanes = [dict(lane, overrides=train.lane_record(values, config)["overrides"])
             for lane, values in zip(results["lanes"][k * per:(k + 1) * per],
                                     trained[k * per:(k + 1) * per])]
    r = dict(results, experiment=name, config=json.loads(json.dumps(config.to_dict())),
             paper_test_error=train.PAPER_TEST_ERROR.get(name), lanes=lanes,
             trained_with={"experiments": names, "workdir": workdir})
    if results["status"] == "done" and not any(l["status"] == "done" for l in lanes):
      r["status"] = "diverged"
    if len(lanes) == 1:
      r["passes"], r["final_test_error"] = lanes[0]["passes"], lanes[0].get("final_test_error")
    out.append(r)
  return out


def finished(workdir: str, config, overwrite: bool = False):
  """The results in workdir if a run of `config` finished there (done or diverged), else None.
  A finished run of another config raises WorkdirError, as resuming one would."""
  from lenet_jax import train
  path = os.path.join(workdir, "results.json")
  if overwrite or not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      results = json.load(f)
  except (OSError, ValueError) as e:
    raise train.WorkdirError(f"{path} is unreadable ({e}); rerun with --overwrite to start "
                             "over") from None
  if results.get("status") not in ("done", "diverged"):
    return None
  train.check_same_config(results.get("config", {}), config, workdir)
  return results


def run(names: list[str], configs: list, root: str, train_fn: Callable[[Any, str], dict], *,
        overwrite: bool = False) -> dict[str, dict]:
  """Trains the experiments `names` (their `configs`) into root/NAME with train_fn(config,
  workdir) (train_and_evaluate, or launch's wrapper of it) and writes root/summary.* after each
  program. Experiments that differ only in lane fields train as one program (plan) in
  root/A+B+..., and each still gets root/NAME/results.json. Finished experiments are skipped;
  an interrupted program resumes from its checkpoints when run again. Returns name -> results."""
  from lenet_jax import summary, train
  results = {n: finished(os.path.join(root, n), c, overwrite) for n, c in zip(names, configs)}
  todo = [i for i, n in enumerate(names) if results[n] is None]
  count = 0
  for n in names:
    if results[n] is not None:
      count += 1
      train.log(f"[{count}/{len(names)}] {n}: done already, skipped")

  def write_summary():
    if train.is_primary() and any(r is not None for r in results.values()):
      summary.write_summary([(n, r) for n, r in results.items() if r is not None], root)

  write_summary()
  for members, config in plan([names[i] for i in todo], [configs[i] for i in todo]):
    label = "+".join(members)
    workdir = os.path.join(root, label)
    count += len(members)
    together = f" (trained together: {', '.join(members)})" if len(members) > 1 else ""
    train.log(f"[{count}/{len(names)}] {label} -> {workdir}{together}")
    try:
      got = train_fn(config, workdir)
    except train.DivergenceError as e:
      # Every lane diverged: its results.json says so, and the sweep goes on.
      train.log(f"{label}: {e}", file=sys.stderr)
      with open(os.path.join(workdir, "results.json")) as f:
        got = json.load(f)
    if len(members) == 1:
      results[members[0]] = got
    else:
      member_configs = [configs[names.index(m)] for m in members]
      for m, r in zip(members, member_results(got, config, members, member_configs, workdir)):
        if train.is_primary():
          os.makedirs(os.path.join(root, m), exist_ok=True)
          train.write_json_atomic(os.path.join(root, m, "results.json"), r)
        results[m] = r
    write_summary()
  return results
