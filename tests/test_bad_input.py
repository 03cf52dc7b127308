"""Bad input, end to end: `python launch.py ...` must exit non-zero with one clear error line
naming the problem (and for data, the file and the fix), and write nothing to the workdir.

Each case is a real run of launch.py (--set=train_size=300 --epochs=1, so that a run that wrongly
starts is short), against corrupted copies of the real MNIST files where the data is the problem.
Stride and kernel size cannot be set from the command line; their checks are tested on the
library functions at the end.
"""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from lenet_jax import data, ops

from conftest import MNIST_DIR, launch, require_mnist

FIX = "--mnist_dir"  # every data error says what to point where


# --- corrupted copies of the real MNIST folder, built once ------------------------------------


def _real_raw(name):
  return gzip.decompress((MNIST_DIR / (name + ".gz")).read_bytes())


def _zeros_gz(header, zeros):
  """A gzip file of `header` then `zeros` zero bytes (members of 1 MiB, quick to compress)."""
  piece = 1 << 20
  whole, rest = divmod(zeros, piece)
  return (gzip.compress(header, mtime=0) + gzip.compress(bytes(piece), mtime=0) * whole
          + gzip.compress(bytes(rest), mtime=0))


def _folder(root, replace=None, drop=()):
  """A MNIST folder linking to the real .gz files, except `drop`ped names and `replace`d ones
  ({file name as written: bytes}, the name with or without .gz)."""
  root.mkdir()
  replace = replace or {}
  replaced = {n.removesuffix(".gz") for n in replace}
  for name in sum(data.FILES.values(), ()):
    if name not in replaced and name not in drop:
      (root / (name + ".gz")).symlink_to(MNIST_DIR / (name + ".gz"))
  for file_name, payload in replace.items():
    (root / file_name).write_bytes(payload)
  return root


@pytest.fixture(scope="module")
def bad_dirs(tmp_path_factory):
  """{case: mnist_dir} for every data corruption case."""
  require_mnist()
  base = tmp_path_factory.mktemp("bad-mnist")
  train_labels = _real_raw("train-labels-idx1-ubyte")
  test_labels = _real_raw("t10k-labels-idx1-ubyte")
  test_images = _real_raw("t10k-images-idx3-ubyte")
  test_images_gz = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()

  out_of_range = bytearray(train_labels)
  out_of_range[8 + 123] = 10  # label 123 of the training set becomes 10
  dirs = {
      "file_missing": _folder(base / "file_missing", drop=("t10k-labels-idx1-ubyte",)),
      "truncated": _folder(base / "truncated", {
          "train-labels-idx1-ubyte": train_labels[:30008]}),
      "truncated_gz": _folder(base / "truncated_gz", {
          "t10k-images-idx3-ubyte.gz": test_images_gz[:len(test_images_gz) // 2]}),
      "truncated_header": _folder(base / "truncated_header", {
          "t10k-images-idx3-ubyte": test_images[:10]}),
      "wrong_magic": _folder(base / "wrong_magic", {
          "t10k-images-idx3-ubyte": struct.pack(">I", 2049) + test_images[4:]}),
      "header_count": _folder(base / "header_count", {  # header: 10001 labels; bytes: 10000
          "t10k-labels-idx1-ubyte": struct.pack(">II", 2049, 10001) + test_labels[8:]}),
      "count_mismatch": _folder(base / "count_mismatch", {  # a consistent file of 9999 labels
          "t10k-labels-idx1-ubyte": struct.pack(">II", 2049, 9999) + test_labels[8:-1]}),
      "label_out_of_range": _folder(base / "label_out_of_range", {
          "train-labels-idx1-ubyte": bytes(out_of_range)}),
      # 70,000 test images and labels, all there: more than MNIST's test split holds.
      "count_beyond_the_split": _folder(base / "count_beyond_the_split", {
          "t10k-images-idx3-ubyte.gz": _zeros_gz(struct.pack(">IIII", 2051, 70000, 28, 28),
                                                 70000 * 28 * 28),
          "t10k-labels-idx1-ubyte.gz": _zeros_gz(struct.pack(">II", 2049, 70000), 70000)}),
      # 50,000 training images claimed by a 60-byte gzip file, which cannot hold them.
      "count_beyond_the_file": _folder(base / "count_beyond_the_file", {
          "train-images-idx3-ubyte.gz": _zeros_gz(struct.pack(">IIII", 2051, 50000, 28, 28), 0)}),
      "not_a_folder": base / "a-file-not-a-folder",
      "mnist_dir_missing": base / "no-such-mnist-dir",
  }
  dirs["not_a_folder"].write_bytes(b"")
  return dirs


# --- running launch.py ------------------------------------------------------------------------


def train_small(tmp_path, *args, mnist_dir=MNIST_DIR):
  """Runs launch.py (conftest.launch) with a small real config, then `args` (later flags win);
  returns (completed process, workdir)."""
  workdir = tmp_path / "run"
  r = launch("--experiment=c3_partial", f"--workdir={workdir}", "--set=train_size=300",
             "--epochs=1", "--progress=false", f"--mnist_dir={mnist_dir}", *args, timeout=300)
  return r, workdir


def check_one_clear_error(r, workdir, words):
  """Non-zero exit; one error line, last on stderr, naming every word; no output anywhere."""
  lines = [line for line in r.stderr.splitlines() if line.strip()]
  assert r.returncode != 0, (r.returncode, r.stdout, r.stderr)
  assert lines, "nothing on stderr"
  assert "Traceback" not in r.stderr, r.stderr
  last = lines[-1]
  assert last.startswith("error: "), r.stderr
  assert sum(line.startswith("error: ") for line in lines) == 1, r.stderr
  for word in words:
    assert word in last, (word, last)
  assert "results:" not in r.stdout, r.stdout
  # Nothing written: no results.json, no .tmp-*.json, not even the folder (or an empty one).
  left = sorted(p.name for p in workdir.rglob("*")) if workdir.exists() else []
  assert left == [], left


CLI_CASES = {
    # name: (arguments, words the error line must hold)
    "unknown_experiment": (["--experiment=nope"], ["'nope'", "valid experiments", "c3_partial"]),
    "unknown_override": (["--set=nope=1"], ["'nope'", "valid fields", "epochs"]),
    "mistyped_override": (["--set=epochs=abc"], ["epochs", "abc", "int"]),
    "override_without_value": (["--set=epochs"], ["epochs", "name=value"]),
    "unknown_flag": (["--nope=1"], ["nope"]),
    "mistyped_flag": (["--epochs=abc"], ["epochs", "abc"]),
    "zero_epochs": (["--epochs=0"], ["epochs", "0"]),
    "negative_epochs": (["--epochs=-3"], ["epochs", "-3"]),
    "negative_epochs_override": (["--set=epochs=-1"], ["epochs", "-1"]),
    "zero_batch_size": (["--batch_size=0"], ["batch_size", "0"]),
    "batch_larger_than_training_set": (["--batch_size=301"],
                                       ["batch_size", "301", "300", "lower batch_size"]),
    "zero_seeds": (["--seeds=0"], ["seeds", "0"]),
    "train_size_too_large": (["--set=train_size=60001"], ["train_size=60001", "60000"]),
    "negative_train_size": (["--set=train_size=-5"], ["train_size", "-5"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("args, words", list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_bad_flag(tmp_path, args, words):
  check_one_clear_error(*train_small(tmp_path, *args), words)


DATA_CASES = {
    # name: words the error line must hold, besides FIX
    "mnist_dir_missing": ["no-such-mnist-dir", "does not exist"],
    "not_a_folder": ["a-file-not-a-folder", "not a folder"],
    "file_missing": ["t10k-labels-idx1-ubyte", "lacks"],
    "truncated": ["train-labels-idx1-ubyte", "truncated", "60000"],
    "truncated_gz": ["t10k-images-idx3-ubyte.gz", "gzip"],
    "truncated_header": ["t10k-images-idx3-ubyte", "header"],
    "wrong_magic": ["t10k-images-idx3-ubyte", "2051", "2049"],
    "header_count": ["t10k-labels-idx1-ubyte", "10001", "10000"],
    "count_mismatch": ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "10000 images",
                       "9999 labels"],
    "label_out_of_range": ["train-labels-idx1-ubyte", "0..9", "10", "index 123"],
    "count_beyond_the_split": ["t10k-images-idx3-ubyte.gz", "70000", "10,000", "test split"],
    "count_beyond_the_file": ["train-images-idx3-ubyte.gz", "50000", "gzip file can hold"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data(tmp_path, bad_dirs, case):
  r, workdir = train_small(tmp_path, mnist_dir=bad_dirs[case])
  check_one_clear_error(r, workdir, DATA_CASES[case] + [FIX])


def test_corrupted_dirs_are_the_only_problem(bad_dirs):
  """The corrupted folders differ from the real one only where intended: the intact files
  linked from them load."""
  root = bad_dirs["label_out_of_range"]
  images = data.read_idx(root / "train-images-idx3-ubyte.gz", "images")
  labels = np.frombuffer((root / "train-labels-idx1-ubyte").read_bytes(), np.uint8, offset=8)
  assert images.shape == (60000, 28, 28) and len(labels) == 60000
  assert labels[123] == 10 and np.delete(labels, 123).max() == 9


# --- stride and kernel: library-level checks --------------------------------------------------


@pytest.mark.parametrize("kwargs, words", [
    (dict(n=32, k=5, stride=0), ["stride", "0"]),
    (dict(n=32, k=5, stride=-2), ["stride", "-2"]),
    (dict(n=4, k=7, padding=1), ["kernel 7", "padded input", "6"]),
    (dict(n=5, k=6), ["kernel 6", "5"]),
])
def test_conv_output_size_rejects(kwargs, words):
  with pytest.raises(ValueError) as info:
    ops.conv_output_size(**kwargs)
  for word in words:
    assert word in str(info.value)


@pytest.mark.parametrize("impl", ["xla", "im2col"])
@pytest.mark.parametrize("shape, kwargs, words", [
    ((8, 8), dict(stride=0), ["stride", "0"]),
    ((8, 8), dict(stride=(1, 0)), ["stride", "0"]),
    ((4, 4), dict(padding=1, kernel=7), ["kernel 7", "padded input"]),
    ((4, 9), dict(kernel=5), ["kernel 5", "4"]),
])
def test_conv2d_rejects(impl, shape, kwargs, words):
  kwargs = dict(kwargs)
  k = kwargs.pop("kernel", 3)
  x = np.zeros(shape + (1,), np.float32)
  w = np.zeros((k, k, 1, 2), np.float32)
  with pytest.raises(ValueError) as info:
    ops.conv2d(x, w, impl=impl, **kwargs)
  for word in words:
    assert word in str(info.value)
