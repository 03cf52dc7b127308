"""A user's digit image made into the network's input the way MNIST was made, and the trained
LeNet-5 that ships with the package (lenet_jax/trained_lenet5/). NumPy and Pillow only: the
network itself runs where it is asked for (experiments/predict.py).

MNIST fitted each NIST digit's bounding box into 20x20 keeping its aspect ratio, anti-aliased,
and centred its centre of mass in a 28x28 field; LeNet-5 then reads it padded to 32x32 and
scaled to -0.1 (paper) .. 1.175 (ink). read_digit does the same to any image, in these steps
(the choices are ours: MNIST's own code is not published):

  1. Pillow reads it (EXIF rotation applied, transparent pixels composited onto white paper)
     and converts it to grey (ITU-R 601 luma; 16-bit grey scaled to 0..255).
  2. Polarity: the median of the outermost ring of pixels is the paper's level (so some paper
     must show around the digit); ink is what lies farther from it, so an image whose paper is
     nearer its lightest grey than its darkest is inverted (255 - grey), making ink high.
  3. Threshold-free scaling: the paper's level -> 0, the most inked pixel -> 255, linearly,
     clipped at 0. No pixel CONTRAST levels above the paper: a blank image, refused.
  4. Crop to the bounding box of the ink, the pixels at least half-way to full ink (INK), as a
     binary scan such as NIST's saw them.
  5. Resize so that the longer side is 20 pixels (BOX), aspect ratio kept, with Pillow's
     Lanczos filter (antialiased) on the float grey values, clipped to 0..255.
  6. Place in a 28x28 field of paper at the whole-pixel offset that brings the grey values'
     centre of mass nearest MNIST's (CENTRE), the box kept inside the field; round to uint8.
  7. data.preprocess: the 2-pixel pad to 32x32 and the -0.1 .. 1.175 scaling.

An image already in MNIST's form skips steps 3-6 (mnist_form: 28x28, paper exactly 0 after
step 2, its ink's box and centre of mass where MNIST's are), so an MNIST digit written to a
file, as it is or inverted, comes back bit for bit and the network gives the distances
of the array path (to float32 rounding). Any other image goes through every step; MNIST test
digits enlarged smoothly to 112x112 come back 6 grey levels of 255 from MNIST's on average, in
the same class for 99.8% of them, their ten distances 0.5 from the array path's (median;
tests/test_predict.py).
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lenet_jax import data, files, versions

SIDE = 28              # MNIST's field
BOX = 20               # the box MNIST fitted each digit into
# MNIST's centre of mass (row, column), pixel centres at 0..27: all 70,000 digits' lie within
# 0.5 of it on each axis (mean 13.996, 14.007; measured on the repository's copy).
CENTRE = (14.0, 14.0)
INK = 127.5            # of 0..255 after scaling: more ink than paper, as for a binary scan
CONTRAST = 32          # grey levels above the paper that the most inked pixel must reach
MIN_SIDE = 8           # pixels on each side: fewer cannot show a digit
MNIST_BOX = 20         # mnist_form's largest ink box side (grey >= 128; MNIST's largest: 20)
MNIST_CENTRE = 1.0     # mnist_form's largest distance of the centre of mass from CENTRE (0.71)
RESAMPLE = Image.Resampling.LANCZOS   # step 5: antialiased in both directions
SUFFIXES = (".png", ".jpg", ".jpeg")
_FIX = "give a PNG or JPEG of one digit, or a folder of them"

SHIPPED_DIR = Path(__file__).resolve().parent / "trained_lenet5"
PARAMS, PROVENANCE = "params.npz", "provenance.json"


def image_paths(path: str) -> list[Path]:
  """The image at `path`, or the .png/.jpg/.jpeg files of the folder `path` sorted by name
  (hidden files left out: atomic writes' temporaries start with a dot)."""
  if not path:
    raise ValueError("no image given; pass --set=image=PATH, a PNG or JPEG of one digit or a "
                     "folder of them")
  p = Path(path)
  try:
    if not p.is_dir():
      os.stat(p)
      return [p]
    found = sorted(q for q in p.iterdir()
                   if q.suffix.lower() in SUFFIXES and not q.name.startswith(".") and q.is_file())
  except FileNotFoundError:
    raise ValueError(f"{p} does not exist; {_FIX}") from None
  except OSError as e:
    raise ValueError(f"{p} cannot be read ({e.strerror or e}); {_FIX}") from None
  if not found:
    raise ValueError(f"{p} holds no .png, .jpg or .jpeg file; {_FIX}")
  return found


def _grey(image: Image.Image) -> np.ndarray:
  """Step 1 after reading: float64 grey 0..255, transparency composited onto white."""
  if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
    grey = np.asarray(image, np.float64)
    return grey * (255 / 65535) if grey.max() > 255 else grey
  if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
    paper = Image.new("RGBA", image.size, "white")
    image = Image.alpha_composite(paper, image.convert("RGBA"))
  return np.asarray(image.convert("L"), np.float64)


def read_grey(path) -> np.ndarray:
  """Step 1: the image at `path` as float64 grey values 0..255; ValueError naming the file."""
  try:
    with Image.open(path) as image:
      grey = _grey(ImageOps.exif_transpose(image))
  except FileNotFoundError:
    raise ValueError(f"{path} does not exist; {_FIX}") from None
  except UnidentifiedImageError:
    raise ValueError(f"{path} is not an image Pillow can read; {_FIX}") from None
  except Exception as e:  # pylint: disable=broad-except  (Pillow's decoders raise many kinds)
    why = " ".join(str(getattr(e, "strerror", None) or e).split())
    raise ValueError(f"{path} cannot be read as an image ({why}); {_FIX}") from None
  if min(grey.shape) < MIN_SIDE:
    raise ValueError(f"{path} is {grey.shape[1]}x{grey.shape[0]} pixels, too small to show a "
                     f"digit; give an image at least {MIN_SIDE} pixels on each side")
  return grey


def _border(image: np.ndarray) -> np.ndarray:
  return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def ink_high(grey: np.ndarray) -> np.ndarray:
  """Step 2: grey with ink high, inverted when the paper is the lighter end."""
  paper = np.median(_border(grey))
  return 255.0 - grey if grey.max() - paper < paper - grey.min() else grey


def _centre_of_mass(image: np.ndarray) -> np.ndarray:
  """(row, column) of the grey values' centre of mass, pixel centres at 0, 1, ..."""
  total = image.sum()
  return np.array([image.sum(axis=1) @ np.arange(image.shape[0]),
                   image.sum(axis=0) @ np.arange(image.shape[1])]) / total


def mnist_form(ink: np.ndarray) -> bool:
  """Whether `ink` (step 2's output) is already an MNIST digit: 28x28 whole grey levels on
  paper of exactly 0, its ink (grey >= 128) within MNIST_BOX and its centre of mass within
  MNIST_CENTRE pixels of CENTRE (bounds that every MNIST digit meets, tests/test_predict.py)."""
  if ink.shape != (SIDE, SIDE) or np.median(_border(ink)) != 0 or ink.max() < 128:
    return False
  if not np.array_equal(ink, np.rint(ink)):
    return False
  rows, cols = np.nonzero(ink >= 128)
  if max(np.ptp(rows), np.ptp(cols)) + 1 > MNIST_BOX:
    return False
  return bool(np.hypot(*(_centre_of_mass(ink) - CENTRE)) <= MNIST_CENTRE)


def scaled(ink: np.ndarray, path) -> np.ndarray:
  """Step 3: paper -> 0, the most inked pixel -> 255; ValueError for a blank image."""
  paper = np.median(_border(ink))
  top = ink.max()
  if top - paper < CONTRAST:
    raise ValueError(f"{path} shows no digit: no pixel is {CONTRAST} grey levels darker (or "
                     "lighter) than the paper; give an image of one digit in ink that stands "
                     "out from the paper")
  return np.clip((ink - paper) / (top - paper), 0.0, 1.0) * 255.0


def _fitted(level: np.ndarray) -> np.ndarray:
  """Steps 4-5: the ink's bounding box resized to fit BOX x BOX, aspect ratio kept."""
  rows, cols = np.nonzero(level >= INK)
  box = level[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
  height, width = box.shape
  scale = BOX / max(height, width)
  size = (max(1, round(width * scale)), max(1, round(height * scale)))
  small = Image.fromarray(box.astype(np.float32)).resize(size, RESAMPLE)
  return np.clip(np.asarray(small, np.float64), 0.0, 255.0)


def framed(level: np.ndarray) -> np.ndarray:
  """Steps 4-6: uint8 (28, 28), the fitted digit placed by its centre of mass."""
  small = _fitted(level)
  height, width = small.shape
  shift = np.floor(np.array(CENTRE) - _centre_of_mass(small) + 0.5).astype(int)
  top = int(np.clip(shift[0], 0, SIDE - height))
  left = int(np.clip(shift[1], 0, SIDE - width))
  field = np.zeros((SIDE, SIDE))
  field[top:top + height, left:left + width] = small
  return np.clip(np.rint(field), 0, 255).astype(np.uint8)


def read_digit(path) -> np.ndarray:
  """Steps 1-6: the image at `path` as an MNIST digit, uint8 (28, 28), ink 255."""
  ink = ink_high(read_grey(path))
  if mnist_form(ink):
    return ink.astype(np.uint8)
  return framed(scaled(ink, path))


def network_input(digits: np.ndarray, side: int = 32, version: str = "regular",
                  permutation=None) -> np.ndarray:
  """Step 7: uint8 (N, 28, 28) digits as a network trained on `version` reads them, exactly as
  data.load_mnist makes its test set."""
  if version != "regular" or permutation is not None:
    digits = versions.apply(version, digits, permutation)
  return data.preprocess(digits, side)


def verdict(distances: np.ndarray) -> tuple[int, float]:
  """The digit (the smallest RBF distance) and the confidence (the runner-up's distance minus
  the winner's: how much nearer the winning bitmap is)."""
  first, second = np.argsort(distances, kind="stable")[:2]
  return int(first), float(distances[second] - distances[first])


def flatten(tree, prefix: str = "") -> dict[str, np.ndarray]:
  """A nested dict of arrays as {"C1/w": float32 array, ...}."""
  flat = {}
  for key, value in tree.items():
    name = f"{prefix}{key}"
    if isinstance(value, dict):
      flat.update(flatten(value, f"{name}/"))
    else:
      flat[name] = np.asarray(value, np.float32)
  return flat


def unflatten(flat: dict[str, np.ndarray]) -> dict:
  """flatten's inverse."""
  tree = {}
  for name, value in flat.items():
    *path, leaf = name.split("/")
    node = tree
    for key in path:
      node = node.setdefault(key, {})
    node[leaf] = value
  return tree


def sha256(path) -> str:
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def export(params, provenance: dict, folder=SHIPPED_DIR) -> dict:
  """Writes params.npz (float32, '/'-joined keys) and provenance.json (`provenance` plus the
  SHA-256 of params.npz) into `folder`; the provenance written."""
  os.makedirs(folder, exist_ok=True)
  flat = flatten(params)
  npz = os.path.join(folder, PARAMS)

  def write(tmp):
    with open(tmp, "wb") as f:
      np.savez(f, **flat)

  files.atomic_write(npz, write, ".npz")
  provenance = dict(provenance, params_file=PARAMS, sha256=sha256(npz))
  files.write_json(os.path.join(folder, PROVENANCE), provenance)
  return provenance


def load_shipped(folder=SHIPPED_DIR) -> tuple[dict, dict]:
  """(params tree, provenance) of the parameters in `folder`, trusted only when params.npz has
  the SHA-256 that provenance.json records; ValueError naming the file otherwise."""
  fix = f"restore {folder} from the repository (git checkout -- lenet_jax/trained_lenet5)"
  provenance = files.read_json(os.path.join(folder, PROVENANCE), fix,
                               {"sha256": str, "config": dict})
  npz = os.path.join(folder, PARAMS)
  try:
    found = sha256(npz)
  except OSError as e:
    raise ValueError(f"{npz} is unreadable ({e.strerror or e}); {fix}") from None
  if found != provenance["sha256"]:
    raise ValueError(f"{npz}: its SHA-256 {found[:12]}... is not the "
                     f"{provenance['sha256'][:12]}... that {PROVENANCE} records (the file is "
                     f"damaged); {fix}")
  try:
    with np.load(npz, allow_pickle=False) as archive:
      flat = {name: archive[name] for name in archive.files}
  except (OSError, ValueError, zipfile.BadZipFile) as e:
    raise ValueError(f"{npz} is unreadable ({e}); {fix}") from None
  return unflatten(flat), provenance
