"""A trained LeNet-5 to try: reads a photo or drawing of one digit (PNG or JPEG, any size,
colour or grey, dark ink on light paper or the reverse; or a folder of them), makes it an MNIST
digit (lenet_jax/predict.py states each step), and prints the digit, the ten RBF distances
(the smallest wins) and a confidence (the runner-up's distance minus the winner's). For each
image it writes WORKDIR/NAME.png: the input as the network sees it beside the distances.

The parameters are the ones that ship in lenet_jax/trained_lenet5/ (the headline recipe,
`python launch.py --experiment=c3_partial --seed=0`, 20 passes, 1.01% test error: 101 of the
10,000 MNIST test digits; provenance.json records the commit, machine and config), or the
first lane of any finished run with an RBF output (--set=params=WORKDIR).

  python launch.py --experiment=predict --set=image=digit.png
  python launch.py --experiment=predict --set=image=my_digits/ --workdir=runs/mine
  python launch.py --experiment=predict --set=image=digit.png --set=params=runs/c3_partial

Measured (MNIST test digit 18, a 3, written to three.png; 8 s on the 2-core Xeon, most of it
starting JAX and compiling):
  /tmp/pd/three.png: 3  confidence 39.91  distances 0:86.18 1:84.57 2:68.11 3:1.42 4:120.67
  5:47.55 6:67.30 7:76.83 8:41.33 9:54.60   (one line)
The same digit inverted, enlarged 5x with a white margin, as an RGB JPEG: 3, confidence 41.48.
"""
import os
from pathlib import Path

import ml_collections
import numpy as np

from lenet_jax import predict, step, trained, versions
from lenet_jax import workdir as workdir_lib
from lenet_jax.report import plots

CHANGES = "(not a training experiment: the shipped LeNet-5 on your images)"
PAPER_ROW = None
RBF_OUTPUTS = ("rbf_bitmap", "rbf_random")
_RUN_FIX = "give --set=params=WORKDIR, the workdir of a finished run (e.g. runs/c3_partial)"


def get_config():
  return ml_collections.ConfigDict({"experiment": "predict", "image": "", "params": ""})


def _shipped():
  """The shipped parameters: (model, params, config, one line saying what they are)."""
  params, provenance = predict.load_shipped()
  config = trained.config_of(provenance)
  about = (f"the shipped LeNet-5 ({provenance['command']}, commit {provenance['commit']}, "
           f"{provenance['test_error']:.2f}% test error)")
  return step.make_model(config), params, config, about


def _finished(run_dir: str):
  """Lane 0 of the finished run in run_dir: (model, params, config, about); ValueError for a
  run that is missing, unfinished, not a trained network, or without an RBF output."""
  path = os.path.join(run_dir, "results.json")
  if not os.path.isfile(path):
    raise ValueError(f"{run_dir} holds no results.json; {_RUN_FIX}")
  results = workdir_lib.read_results(path)
  config = trained.config_of(results)
  if results.get("kind") in ("baseline", "derived"):
    raise ValueError(f"{run_dir} is a {results['kind']} experiment's, not a trained network's; "
                     f"{_RUN_FIX}")
  if results["status"] != "done":
    raise ValueError(f"{run_dir}'s run is {results['status']}, not finished; {_RUN_FIX}")
  if config.output not in RBF_OUTPUTS:
    raise ValueError(f"{run_dir}'s network has output={config.output}, not RBF distances; "
                     "give a run with output=rbf_bitmap or rbf_random")
  t = trained.load(run_dir)
  about = f"{run_dir} ({results['experiment']}, lane 0, step {t.step})"
  return t.model, trained.lane_params(t, 0), config, about


def _inputs(digits, model, config) -> np.ndarray:
  """The network's inputs for uint8 (N, 28, 28) digits, as its run's test set was made."""
  permuted = config.get("pixels", "regular") == "permuted"
  permutation = versions.pixel_permutation(config.permutation_seed) if permuted else None
  return predict.network_input(digits, model.side, config.input_version, permutation)


def _figure_names(paths) -> list[str]:
  """NAME.png per image; the full file name (3.jpg.png) where two images share a stem."""
  stems = [p.stem for p in paths]
  return [f"{p.stem if stems.count(p.stem) == 1 else p.name}.png" for p in paths]


def _figure(x, distances, title: str, path: str) -> None:
  """The input as the network sees it beside a bar chart of the ten distances."""
  digit, confidence = predict.verdict(distances)
  fig = plots.figure(figsize=(7.5, 3.2), layout="constrained")
  left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
  left.imshow(x[..., 0], cmap="gray", vmin=-0.1, vmax=1.175, interpolation="nearest")
  left.set_title(f"the {x.shape[0]}x{x.shape[1]} input the network sees", fontsize=9)
  left.set_xticks([])
  left.set_yticks([])
  right.bar(range(10), distances, color=["tab:blue" if k == digit else "0.75" for k in range(10)])
  right.set_xticks(range(10))
  right.set_xlabel("digit")
  right.set_ylabel("RBF distance (smallest wins)")
  right.set_title(f"{title}: {digit}, confidence {confidence:.2f}", fontsize=9)
  plots.save_png(fig, path)


def _line(path, distances) -> str:
  digit, confidence = predict.verdict(distances)
  listed = " ".join(f"{k}:{d:.2f}" for k, d in enumerate(distances))
  return f"{path}: {digit}  confidence {confidence:.2f}  distances {listed}"


def _figure_paths(paths, workdir: str) -> list[str]:
  """Where each figure goes; ValueError if the workdir cannot be made or a figure would
  replace one of the images."""
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise ValueError(f"cannot make the workdir {workdir} ({e.strerror or e}); give "
                     "--workdir=DIR, a folder this user may write") from None
  figures = [os.path.join(workdir, name) for name in _figure_names(paths)]
  for image, figure in zip(paths, figures):
    if os.path.abspath(image) == os.path.abspath(figure):
      raise ValueError(f"the figure {figure} would replace the image itself; give "
                       "--workdir=DIR, another folder")
  return figures


def run(config, workdir):
  paths = predict.image_paths(config.image)
  digits = np.stack([predict.read_digit(p) for p in paths])   # every image, before any output
  figures = _figure_paths(paths, workdir)
  model, params, net_config, about = (_finished(config.params) if config.params
                                      else _shipped())
  x = _inputs(digits, model, net_config)
  distances = trained.scores(model, params, x)
  print(f"parameters: {about}")
  for path, xi, d, figure in zip(paths, x, distances, figures):
    print(_line(path, d))
    _figure(xi, d, Path(path).name, figure)
  print(f"figures: {', '.join(figures) if len(figures) <= 3 else os.path.join(workdir, '*.png')}")
  return {"images": [{"image": str(p), "digit": predict.verdict(d)[0],
                      "confidence": predict.verdict(d)[1], "distances": d.tolist()}
                     for p, d in zip(paths, distances)]}


def export_run(run_dir: str, folder=predict.SHIPPED_DIR) -> dict:
  """Writes lane 0 of the finished run in run_dir as the shipped parameters (params.npz and
  provenance.json in `folder`); the provenance. Used once, on the headline recipe's seed 0:
  python -c "from experiments import predict; predict.export_run('RUN_DIR')"."""
  t = trained.load(run_dir)
  lane = t.results["lanes"][0]
  last = lane["passes"][-1]
  provenance = {
      "experiment": t.results["experiment"], "seed": lane["seed"],
      "commit": t.results.get("commit"),
      "command": f"python launch.py --experiment={t.results['experiment']} --seed={lane['seed']}",
      "machine": t.results.get("device"), "versions": t.results.get("versions"),
      "passes": last["pass"], "checkpoint_step": t.step,
      "test_error": last["test_error"], "test_errors": last["test_errors"],
      "test_images": t.results.get("test_images"), "training_error": last["train_error"],
      "total_seconds": t.results.get("total_seconds"), "config": t.results["config"],
      "exported_with": "python -c \"from experiments import predict; "
                       "predict.export_run('RUN_DIR')\"",
  }
  return predict.export(trained.lane_params(t, 0), provenance, folder)
