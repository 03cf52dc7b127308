"""Named lists of experiments run together (lenet_jax.runner); what each one changes, and the
paper's number it is compared with, each experiment module declares (experiments.about).

  SWEEPS["paper_ablations"]: c3_partial (the paper's recipe) and one experiment per design choice
  of the paper, each changing that one choice (modern changes several: the usual LeNet-5 of
  later code, for contrast).
"""
from __future__ import annotations

SWEEPS: dict[str, list[str]] = {
    "paper_ablations": [
        "c3_partial", "c3_full", "pool_avg", "pool_max", "act_logistic", "act_relu",
        "out_rbf_random", "out_linear", "loss_mle", "opt_sgd", "opt_adam", "init_default",
        "train_15k", "train_30k", "modern", "init_paper_text",
    ],
    "smoke": ["c3_partial", "c3_full", "pool_max"],
    # Which reading of the paper's SDLM is LeNet-5 (RESULTS.md): the first two train as one
    # program (they differ only in mu, a lane field).
    "sdlm_verdict": ["sdlm_paper", "sdlm_paper_mu025", "sdlm_paper_authors", "sdlm_paper_once",
                     "sdlm_lush_demo", "sdlm_refresh", "init_paper_text"],
    # The paper's Figure 6: test error against training-set size.
    "figure6": ["train_15k", "train_30k", "c3_partial"],
    # The paper's Figure 9, its neural rows and its cheap reference rows, and the study note's
    # two claims (sections 1.1 and 1.6). Longest first so that two workers finish together
    # (benchmarks/predict_sweep.py), and lenet4 before the two experiments that reuse its run.
    "figure9": [
        "lenet4", "lenet5_local", "boosted_lenet4", "mlp_1000_dist", "mlp_1000", "distortions",
        "mlp_500_150_dist", "c3_partial", "lenet5_permuted", "mlp_500_150", "mlp_300_100_dist",
        "mlp_300_dist", "lenet1", "mlp_300_100", "mlp_300", "mlp_300_permuted",
        "mlp_300_deslant", "lenet4_knn", "rbf_linear", "knn", "knn_deslant", "pairwise_linear",
        "pca_quadratic", "linear_deslant", "linear",
    ],
}

class UnknownSweep(ValueError):
  pass


def names() -> list[str]:
  return sorted(SWEEPS)


def get(name: str) -> list[str]:
  """The experiments of sweep `name`, in order."""
  if name not in SWEEPS:
    raise UnknownSweep(f"unknown sweep {name!r}; valid sweeps: " + ", ".join(names()))
  return list(SWEEPS[name])
