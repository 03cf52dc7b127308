"""Tests for lenet_jax.baselines (Figure 9's classical classifiers) against float64 NumPy
computations written from each procedure's definition, hand-computed examples and the paper's
counts."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from lenet_jax import baseline_rows as rows, baselines


def random_images(n, side, seed=0, classes=10):
  """n random uint8 (side, side) images and labels covering every class."""
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
  labels = np.arange(n) % classes
  rng.shuffle(labels)
  return images, labels


def ridge_reference(a, t, ridge):
  """float64 least squares of [a, 1] w = t plus ridge ||w without the bias||^2 per image,
  as one stacked least-squares problem (the penalty as extra rows), solved by lstsq."""
  n, d = a.shape
  aug = np.hstack([a, np.ones((n, 1))])
  if ridge == 0:
    w = np.linalg.pinv(aug) @ t   # the minimum-norm solution
  else:
    penalty = np.hstack([np.sqrt(n * ridge) * np.eye(d), np.zeros((d, 1))])
    w = np.linalg.lstsq(np.vstack([aug, penalty]), np.vstack([t, np.zeros((d, t.shape[1]))]),
                        rcond=None)[0]
  return w[:d], w[d]


def one_hot_targets(labels, low, classes=10):
  t = np.full((len(labels), classes), low)
  t[np.arange(len(labels)), labels] = 1.0
  return t


# --- linear ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ridge", [0.0, 0.01, 1.0])
@pytest.mark.parametrize("coding,low", [("pm1", -1.0), ("01", 0.0)])
def test_linear_matches_float64_least_squares(ridge, coding, low):
  images, labels = random_images(300, 6)
  images[:, 0, 0] = 0   # a pixel never inked: the Gram matrix is singular, as MNIST's is
  model = baselines.linear_fit(images, labels, ridge=ridge, coding=coding)
  x = images.reshape(300, -1) / 255.0
  w, b = ridge_reference(x, one_hot_targets(labels, low), ridge)
  np.testing.assert_allclose(model.weights, w, atol=1e-7 if ridge else 1e-5)
  np.testing.assert_allclose(model.bias, b, atol=1e-7 if ridge else 1e-5)
  test, _ = random_images(50, 6, seed=1)
  expected = (test.reshape(50, -1) / 255.0 @ w + b).argmax(1)
  np.testing.assert_array_equal(baselines.linear_predict(model, test), expected)


def test_linear_codings_rank_alike():
  """The bias is not penalised, so 1/0 targets give the +-1 scores halved and shifted."""
  images, labels = random_images(200, 5)
  pm = baselines.linear_fit(images, labels, ridge=0.1, coding="pm1")
  zo = baselines.linear_fit(images, labels, ridge=0.1, coding="01")
  np.testing.assert_allclose(pm.weights, 2 * zo.weights, atol=1e-9)
  np.testing.assert_allclose(pm.bias, 2 * zo.bias - 1, atol=1e-9)


# --- pairwise ------------------------------------------------------------------------------------


def test_pairwise_scores_hand_example():
  """3 classes, units 0/1, 0/2, 1/2. Image 1: s0 = .5 + .4, s1 = -.8 - .5, s2 = -.4 + .8.
  Image 2: s0 = -1 + .2, s1 = .9 + 1, s2 = -.2 - .9."""
  pairs = np.array([[0, 1], [0, 2], [1, 2]])
  outputs = np.array([[0.5, 0.4, -0.8], [-1.0, 0.2, 0.9]])
  scores = baselines.pairwise_scores(outputs, pairs, n_classes=3)
  np.testing.assert_allclose(scores, [[0.9, -1.3, 0.4], [-0.8, 1.9, -1.1]], atol=1e-12)
  np.testing.assert_array_equal(scores.argmax(1), [0, 1])


def test_pairwise_threshold_votes_hand_example():
  """Units 0/1, 0/2, 1/2. Image 1: signs +, +, - give votes 2, -2, 0 (class 0); linear scores
  .9, -1.3, .4 (class 0). Image 2: signs +, -, + give every class one win and one loss, so
  the tie goes to the highest linear score: .3 - .2, -.3 + .6, .2 - .6 (class 1). Image 3:
  signs +, +, + give votes 2, 0, -2 (class 0), but linear scores .3, 2.9, -3.2 (class 1)."""
  pairs = np.array([[0, 1], [0, 2], [1, 2]])
  sums = np.array([[0.5, 0.4, -0.8], [0.3, -0.2, 0.6], [0.1, 0.2, 3.0]])
  np.testing.assert_array_equal(baselines.pairwise_classes(sums, pairs, "threshold", 3),
                                [0, 1, 0])
  np.testing.assert_array_equal(baselines.pairwise_classes(sums, pairs, "linear", 3), [0, 1, 1])


@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_pairwise_units_trained_on_their_two_classes_only(ridge):
  images, labels = random_images(400, 5, seed=2)
  model = baselines.pairwise_fit(images, labels, ridge=ridge)
  assert model.weights.shape == (25, 45)
  x = images.reshape(400, -1) / 255.0
  for u, (i, j) in enumerate(itertools.combinations(range(10), 2)):
    np.testing.assert_array_equal(model.pairs[u], [i, j])
    mine = (labels == i) | (labels == j)
    t = np.where(labels[mine] == i, 1.0, -1.0)[:, None]
    w, b = ridge_reference(x[mine], t, ridge)
    np.testing.assert_allclose(model.weights[:, u], w[:, 0], atol=1e-6)
    np.testing.assert_allclose(model.bias[u], b[0], atol=1e-6)


@pytest.mark.parametrize("outputs", baselines.PAIRWISE_OUTPUTS)
def test_pairwise_predict_sums_units(outputs):
  images, labels = random_images(400, 5, seed=3)
  model = baselines.pairwise_fit(images, labels, ridge=0.1, outputs=outputs)
  test, _ = random_images(40, 5, seed=4)
  out = test.reshape(40, -1) / 255.0 @ model.weights + model.bias
  scores, votes = np.zeros((40, 10)), np.zeros((40, 10))
  for u, (i, j) in enumerate(model.pairs):
    scores[:, i] += out[:, u]
    scores[:, j] -= out[:, u]
    votes[:, i] += np.sign(out[:, u])
    votes[:, j] -= np.sign(out[:, u])
  expected = []
  for n in range(40):
    tied = [c for c in range(10) if outputs == "linear" or votes[n, c] == votes[n].max()]
    expected.append(max(tied, key=lambda c: scores[n, c]))
  np.testing.assert_array_equal(baselines.pairwise_predict(model, test), expected)


# --- k-NN ---------------------------------------------------------------------------------------


def knn_reference(train, train_y, test, k):
  """Brute force in float64: stable sort of the distances (equal: lower index first), majority
  vote, a tie between classes to the one met first among the nearest."""
  out = []
  for a in test.reshape(len(test), -1).astype(np.float64):
    d = [np.sum((a - b) ** 2) for b in train.reshape(len(train), -1).astype(np.float64)]
    near = [int(train_y[i]) for i in np.argsort(d, kind="stable")[:k]]
    votes = {c: near.count(c) for c in near}
    best = max(votes.values())
    out.append(next(c for c in near if votes[c] == best))
  return np.array(out)


@pytest.mark.parametrize("k", [1, 3])
def test_knn_matches_brute_force(k):
  rng = np.random.default_rng(5)
  train = rng.integers(0, 256, (50, 4, 4), dtype=np.uint8)
  train_y = rng.integers(0, 4, 50)
  test = rng.integers(0, 256, (40, 4, 4), dtype=np.uint8)
  np.testing.assert_array_equal(baselines.knn_predict(train, train_y, test, k),
                                knn_reference(train, train_y, test, k))


def test_knn_ties():
  """Test image 0: training images 1 and 2 at the same distance 4 (labels 7 then 2), the lower
  index wins k = 1; with k = 3, images 1, 2, 0 give three classes, so the nearest's (7).
  Test image 1: nearest images 3 (label 5), 4 (label 4), 0 (label 4): 4 wins two votes to one."""
  train = np.zeros((5, 1, 2), np.uint8)
  train[:, 0] = [[0, 3], [2, 0], [0, 2], [10, 10], [9, 12]]
  train_y = np.array([4, 7, 2, 5, 4])
  test = np.zeros((2, 1, 2), np.uint8)
  test[:, 0] = [[0, 0], [10, 9]]
  np.testing.assert_array_equal(baselines.knn_neighbours(train, test, 3), [[1, 2, 0], [3, 4, 0]])
  np.testing.assert_array_equal(baselines.knn_predict(train, train_y, test, 1), [7, 5])
  np.testing.assert_array_equal(baselines.knn_predict(train, train_y, test, 3), [7, 4])


def test_knn_vote_hand_examples():
  np.testing.assert_array_equal(
      baselines.knn_vote(np.array([[3, 5, 5], [3, 5, 7], [6, 6, 1]])), [5, 3, 6])
  np.testing.assert_array_equal(baselines.knn_vote(np.array([[2, 4, 4, 2], [9, 1, 1, 9]])),
                                [2, 9])


def test_knn_chunks_agree_with_brute_force(monkeypatch):
  """Several test chunks, the last one padded."""
  monkeypatch.setattr(baselines, "_DISTANCE_BYTES", 4 * 50 * 7)   # 7 test images per chunk
  rng = np.random.default_rng(6)
  train = rng.integers(0, 256, (50, 3, 3), dtype=np.uint8)
  train_y = rng.integers(0, 10, 50)
  test = rng.integers(0, 256, (30, 3, 3), dtype=np.uint8)
  np.testing.assert_array_equal(baselines.knn_predict(train, train_y, test, 3),
                                knn_reference(train, train_y, test, 3))


# --- PCA + quadratic ----------------------------------------------------------------------------


def test_pca_matches_svd_of_centred_data():
  rng = np.random.default_rng(7)
  x = (rng.normal(size=(300, 12)) * np.linspace(3, 0.2, 12) @ rng.normal(size=(12, 12))
       + 5).astype(np.float32)
  model = baselines.pca_fit(x, 4)
  centred = x.astype(np.float64) - x.astype(np.float64).mean(0)
  vt = np.linalg.svd(centred)[2][:4]
  vt *= np.sign(vt[np.arange(4), np.abs(vt).argmax(1)])[:, None]
  np.testing.assert_allclose(model.mean, x.astype(np.float64).mean(0), rtol=1e-6)
  np.testing.assert_allclose(model.components, vt.T, atol=1e-4)
  np.testing.assert_allclose(baselines.pca_project(model, x), centred @ vt.T, atol=1e-3)


@pytest.mark.parametrize("kind", baselines.QUADRATIC_KINDS)
def test_quadratic_features_count_and_values(kind):
  p = np.random.default_rng(8).normal(size=(5, 40)).astype(np.float32)
  q = baselines.quadratic_features(p, kind)
  assert q.shape[1] + 1 == 821   # the paper's 821 inputs, with the bias
  for n, row in enumerate(p.astype(np.float64)):
    if kind == "cross_and_linear":
      expected = list(row) + [row[i] * row[j] for i in range(40) for j in range(i + 1, 40)]
    else:
      expected = [row[i] * row[j] for i in range(40) for j in range(i, 40)]
    np.testing.assert_allclose(q[n], expected, rtol=1e-6, atol=1e-6)


def test_quadratic_unknown_kind():
  with pytest.raises(ValueError, match="kind: unknown 'cubic'"):
    baselines.quadratic_features(np.zeros((2, 3)), "cubic")


# --- RBF: k-means -------------------------------------------------------------------------------


def lloyd_reference(x, centres, iterations):
  x, c = x.astype(np.float64), centres.astype(np.float64).copy()
  for _ in range(iterations):
    nearest = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(2), 1)
    for j in range(len(c)):
      if np.any(nearest == j):
        c[j] = x[nearest == j].mean(0)
  return c


def clusters(seed, n=240, d=6, k=5):
  rng = np.random.default_rng(seed)
  means = rng.normal(scale=4, size=(k, d))
  return (means[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)


def test_kmeans_matches_float64_lloyd():
  x = clusters(9)
  # More centres than clusters, started close together, and one far from every point, which
  # gets none and stays where it is.
  init = np.vstack([x[:6], np.full((1, x.shape[1]), 100.0, np.float32)])
  for iterations in (1, 3, 10):
    np.testing.assert_allclose(baselines.kmeans(x, init, iterations),
                               lloyd_reference(x, init, iterations), atol=1e-4)


def test_kmeans_reduces_distortion():
  x = clusters(10)
  init = x[10:16]
  before = np.mean(np.min(((x[:, None] - init[None]) ** 2).sum(2), 1))
  after_c = baselines.kmeans(x, init, 10)
  after = np.mean(np.min(((x[:, None] - after_c[None].astype(np.float64)) ** 2).sum(2), 1))
  assert after < 0.8 * before
  assert baselines.distortion(x, after_c) == pytest.approx(after, rel=1e-4)


def test_rbf_centres_per_class():
  """Each group of centres from its own class's images only: class c's images lie near 10c."""
  rng = np.random.default_rng(11)
  labels = np.repeat(np.arange(10), 30)
  x = (labels[:, None] * 10.0 + rng.normal(size=(300, 4))).astype(np.float32)
  centres, spread = baselines.rbf_centres(x, labels, units=3, iterations=5, seed=0)
  assert centres.shape == (30, 4)
  for c in range(10):
    assert np.all(np.abs(centres[3 * c:3 * c + 3] - 10.0 * c) < 3)
  nearest = [np.min(((x[labels == c, None] - centres[None, 3 * c:3 * c + 3]) ** 2).sum(2), 1)
             for c in range(10)]
  assert spread == pytest.approx(np.mean(np.concatenate(nearest)), rel=1e-4)


def test_rbf_features_are_gaussians():
  rng = np.random.default_rng(12)
  x, centres = rng.normal(size=(7, 5)), rng.normal(size=(3, 5))
  expected = np.exp(-((x[:, None] - centres[None]) ** 2).sum(2) / (2 * 1.5))
  np.testing.assert_allclose(baselines.rbf_features(x, centres, 1.5), expected, rtol=1e-5)


# --- counts (the paper's Figures 9, 11 and 12) -----------------------------------------------


def test_counts_against_the_paper():
  images, labels = random_images(1000, 28, seed=13)
  linear = baselines.linear_fit(images, labels, ridge=0.1)
  assert linear.parameters() == 7_850
  deslanted = baselines.linear_fit(images[:, :20, :20], labels, ridge=0.1)
  assert deslanted.parameters() == 4_010
  assert deslanted.multiply_adds() // 1000 == 4
  pairwise = baselines.pairwise_fit(images, labels, ridge=0.1)
  assert pairwise.parameters() == 45 * 785 == 35_325
  quadratic = baselines.pca_quadratic_fit(images, labels, ridge=0.1)
  assert (quadratic.parameters() // 1000, quadratic.multiply_adds() // 1000) == (40, 39)
  rbf = baselines.rbf_fit(images, labels, units=100, iterations=1, ridge=0.1)
  assert rbf.centres.shape == (1000, 784)
  assert (rbf.parameters() // 1000, rbf.multiply_adds() // 1000) == (794, 794)


# --- experiments ------------------------------------------------------------------------------


def test_screen_least_squares_errors():
  images, labels = random_images(300, 5, seed=14)
  val, val_labels = random_images(60, 5, seed=15)
  errors = rows.screen_least_squares(
      baselines.pixels(images), labels, baselines.pixels(val), val_labels,
      ridges=(0.01, 1.0), codings=("pm1", "01"))
  assert list(errors) == [(0.01, "pm1"), (1.0, "pm1"), (0.01, "01"), (1.0, "01")]
  for (ridge, coding), e in errors.items():
    w, b = ridge_reference(images.reshape(300, -1) / 255.0,
                           one_hot_targets(labels, -1.0 if coding == "pm1" else 0.0), ridge)
    wrong = np.sum((val.reshape(60, -1) / 255.0 @ w + b).argmax(1) != val_labels)
    assert e == pytest.approx(100 * wrong / 60)


def write_idx(folder, split, images, labels):
  import struct
  names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
  (folder / names[0]).write_bytes(struct.pack(">IIII", 2051, len(images), 28, 28)
                                  + images.astype(np.uint8).tobytes())
  (folder / names[1]).write_bytes(struct.pack(">II", 2049, len(labels))
                                  + labels.astype(np.uint8).tobytes())


def test_linear_experiment_writes_the_row(tmp_path, monkeypatch):
  """On 300 training images (the last 100 for validation) and 100 test images: the ridge with
  the lowest validation error, refitted on all 300, and its test error in results.json."""
  import json
  import experiments
  monkeypatch.setattr(rows, "VALIDATION", 100)
  train, train_y = random_images(300, 28, seed=16)
  test, test_y = random_images(100, 28, seed=17)
  write_idx(tmp_path, "train", train, train_y)
  write_idx(tmp_path, "test", test, test_y)
  module = experiments.load("linear")
  config = module.get_config()
  config.mnist_dir, config.ridges, config.codings = str(tmp_path), (0.1, 10.0), ("pm1",)
  module.run(config, str(tmp_path / "run"))
  row = json.loads((tmp_path / "run" / "results.json").read_text())
  x, test_x = train.reshape(300, -1) / 255.0, test.reshape(100, -1) / 255.0
  val_errors = {}
  for ridge in (0.1, 10.0):
    w, b = ridge_reference(x[:200], one_hot_targets(train_y[:200], -1.0), ridge)
    val_errors[ridge] = 100 * np.mean((x[200:] @ w + b).argmax(1) != train_y[200:])
  ridge = min(val_errors, key=val_errors.get)
  w, b = ridge_reference(x, one_hot_targets(train_y, -1.0), ridge)
  wrong = int(np.sum((test_x @ w + b).argmax(1) != test_y))
  assert row["validation"] == pytest.approx({f"ridge={r},coding=pm1": e
                                             for r, e in val_errors.items()})
  assert row["chosen"] == {"ridge": ridge, "coding": "pm1"}
  assert (row["kind"], row["status"], row["parameters"], row["multiply_adds"]) == (
      "baseline", "done", 7_850, 7_850)
  assert (row["train_images"], row["test_images"], row["paper_test_error"]) == (300, 100, 12.0)
  assert row["final_test_error"] == pytest.approx(wrong)   # 100 test images: % = count
  assert row["lanes"][0]["passes"] == [{"pass": 1, "test_error": row["final_test_error"],
                                        "test_errors": wrong}]


@pytest.mark.parametrize("name,field,value,message", [
    ("knn", "ks", (0, 3), "ks: 0 is not a whole number >= 1"),
    ("knn", "ks", (), "ks: must be a non-empty tuple"),
    ("linear", "ridges", (-1.0,), "ridges: -1.0 is not a finite number >= 0"),
    ("linear", "codings", ("pm1", "tanh"), "codings: unknown 'tanh'"),
    ("pca_quadratic", "kinds", ("cubic",), "kinds: unknown 'cubic'"),
    ("rbf_linear", "units", 0, "units: must be a whole number >= 1"),
    ("pairwise_linear", "seed", -1, "seed: must be a whole number >= 0"),
])
def test_experiment_rejects_bad_config_before_writing(tmp_path, name, field, value, message):
  import experiments
  module = experiments.load(name)
  config = module.get_config()
  config[field] = value
  with pytest.raises(ValueError, match=message):
    module.run(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()
