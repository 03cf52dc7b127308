"""The other versions of MNIST that Figure 9's classifiers were trained on (LeCun et al. 1998,
section III.C): deslanted to 20x20 (cropped or scaled), reduced to 16x16, and pixel-permuted.

Pure NumPy on the raw uint8 images (255 ink, 0 background), before data.preprocess scales them,
so every classifier, JAX or not, sees the same pixels. The paper names the operations; the
details it leaves out are chosen here, each stated in the docstring of the function that
makes it:

  * deslant: foreground is grey >= 128; second moments about the foreground's centre of mass;
    each row shifted by -(mu11 / mu02) * (row - centre-of-mass row), resampled by linear
    interpolation of the grey values; the 20x20 crop centred on the sheared grey centre of mass.
  * deslant_fit (the [deslant] rows'): the same shear, then the sheared ink's box scaled to
    fill 20x20, each side on its own, by area averaging.
  * reduce16: the square box (side 20, or the ink's longer side if larger) centred on the ink's
    bounding box, area-averaged to 16x16 and centred in a 28x28 field of background.
  * permute: one fixed permutation of the 784 pixels from np.random.default_rng(seed), the
    same for training and test images.
"""
from __future__ import annotations

import numbers

import numpy as np

SIDE = 28          # MNIST's field
CROP = 20          # the deslanted images' side
REDUCED = 16       # the reduced digit's side
# The side of each version's images; a permutation applies to the SIDE x SIDE ones.
SIDES = {"regular": SIDE, "deslant": CROP, "deslant_fit": CROP, "16x16": SIDE}
VERSIONS = tuple(SIDES)
PIXELS = SIDE * SIDE
# Half of the 0..255 range: MNIST's anti-aliased edges are grey, and a pixel counts as ink
# when it is more ink than background, as for a binary scan.
THRESHOLD = 128
_CHUNK = 4096      # images processed at a time, to bound the float temporaries' memory


def _check_images(images, name="images") -> np.ndarray:
  """images as a uint8 (N, 28, 28) array, or a ValueError naming the problem and the fix."""
  images = np.asarray(images)
  if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
    raise ValueError(f"{name} must have shape (N, {SIDE}, {SIDE}), got {images.shape}; pass a "
                     f"batch of MNIST images (a single image as image[None])")
  if images.dtype != np.uint8:
    raise ValueError(f"{name} must be uint8 (0 background, 255 ink), got {images.dtype}; pass "
                     "the raw MNIST images, before data.preprocess scales them")
  return images


def _chunked(fn, images: np.ndarray, side: int) -> np.ndarray:
  """fn applied to slices of _CHUNK images, into a uint8 (N, side, side) array."""
  out = np.empty((images.shape[0], side, side), np.uint8)
  for start in range(0, images.shape[0], _CHUNK):
    out[start:start + _CHUNK] = fn(images[start:start + _CHUNK])
  return out


def _to_uint8(values: np.ndarray) -> np.ndarray:
  """Float grey values rounded to the nearest uint8 level."""
  return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _round_half_up(values: np.ndarray) -> np.ndarray:
  """Nearest integers, ties upward, so that placement does not depend on banker's rounding."""
  return np.floor(values + 0.5).astype(np.int64)


def _ink_box(ink: np.ndarray):
  """First and one-past-last row and column of the True pixels of (n, H, W) masks, (0, 0) for
  an empty mask."""
  rows, cols = ink.any(axis=2), ink.any(axis=1)

  def extent(mask):
    first = mask.argmax(axis=1)
    end = mask.shape[1] - mask[:, ::-1].argmax(axis=1)
    has = mask.any(axis=1)
    return np.where(has, first, 0), np.where(has, end, 0)

  (r0, r1), (c0, c1) = extent(rows), extent(cols)
  return r0, r1, c0, c1


def _crop(images: np.ndarray, top: np.ndarray, left: np.ndarray) -> np.ndarray:
  """The CROP x CROP windows of (n, 28, 28) images at per-image top-left corners."""
  rows = top[:, None, None] + np.arange(CROP)[None, :, None]
  cols = left[:, None, None] + np.arange(CROP)[None, None, :]
  return images[np.arange(images.shape[0])[:, None, None], rows, cols]


def _slants(images: np.ndarray):
  """Per image: the foreground's centre-of-mass row and mu11 / mu02 (0 where mu02 is 0).

  Foreground pixels count 1 and background 0 (the paper); mu_pq sums (col - mean)^p
  (row - mean)^q, so mu11 / mu02 is the columns the principal axis moves per row down.
  """
  ink = (images >= THRESHOLD).astype(np.float64)
  count = ink.sum(axis=(1, 2))
  rows = np.arange(SIDE, dtype=np.float64)[None, :, None]
  cols = np.arange(SIDE, dtype=np.float64)[None, None, :]
  safe = np.maximum(count, 1.0)
  row_mean = (ink * rows).sum(axis=(1, 2)) / safe
  col_mean = (ink * cols).sum(axis=(1, 2)) / safe
  drow = rows - row_mean[:, None, None]
  dcol = cols - col_mean[:, None, None]
  mu02 = (ink * drow * drow).sum(axis=(1, 2))
  mu11 = (ink * drow * dcol).sum(axis=(1, 2))
  slant = np.divide(mu11, mu02, out=np.zeros_like(mu11), where=mu02 > 0)
  return row_mean, slant


def _shear(images: np.ndarray, pivot: np.ndarray, slant: np.ndarray) -> np.ndarray:
  """Row r of each image shifted right by -slant * (r - pivot) columns, as floats: output
  column c reads the input at c + slant * (r - pivot), linearly interpolated between the two
  nearest columns, background beyond the image's edges."""
  n = images.shape[0]
  # One background column each side; any read further out is clamped onto them.
  padded = np.zeros((n, SIDE, SIDE + 2), np.float32)
  padded[:, :, 1:-1] = images
  rows = np.arange(SIDE, dtype=np.float64)[None, :, None]
  cols = np.arange(SIDE, dtype=np.float64)[None, None, :]
  source = cols + slant[:, None, None] * (rows - pivot[:, None, None])
  left = np.floor(source)
  weight = (source - left).astype(np.float32)
  left = left.astype(np.int64) + 1   # index into padded
  v0 = np.take_along_axis(padded, np.clip(left, 0, SIDE + 1), axis=2)
  v1 = np.take_along_axis(padded, np.clip(left + 1, 0, SIDE + 1), axis=2)
  return (1.0 - weight) * v0 + weight * v1


def _mass_crop_starts(images: np.ndarray):
  """Top and left edges of CROP x CROP windows centred on each image's grey-weighted centre
  of mass (pixel i spans [i, i + 1)), rounded half up and clipped to the image; the image's
  centre for an image without ink."""
  weights = images.astype(np.float64)
  total = weights.sum(axis=(1, 2))
  has_ink = total > 0
  index = np.arange(SIDE, dtype=np.float64)
  safe = np.maximum(total, 1.0)
  row = (weights.sum(axis=2) * index).sum(axis=1) / safe + 0.5
  col = (weights.sum(axis=1) * index).sum(axis=1) / safe + 0.5

  def start(centre):
    centre = np.where(has_ink, centre, SIDE / 2.0)
    return np.clip(_round_half_up(centre - CROP / 2.0), 0, SIDE - CROP)

  return start(row), start(col)


def _sheared(images: np.ndarray) -> np.ndarray:
  """The images with their foreground's principal axis made vertical, as uint8."""
  pivot, slant = _slants(images)
  return _to_uint8(_shear(images, pivot, slant))


def _deslant_chunk(images: np.ndarray) -> np.ndarray:
  """deslant for a slice of images."""
  sheared = _sheared(images)
  return _crop(sheared, *_mass_crop_starts(sheared))


def deslant(images) -> np.ndarray:
  """The paper's deslanted images: uint8 (N, 28, 28) -> uint8 (N, 20, 20).

  Foreground is grey >= THRESHOLD, counted 1 (background 0) as the paper says. Each row r is
  shifted by -(mu11 / mu02) * (r - pivot), pivot the foreground's centre-of-mass row, which
  makes the foreground's mu11 zero (its principal axis vertical) and leaves its centre of mass
  in place; rows are resampled by linear interpolation of the grey values, not the binary
  mask, so anti-aliasing survives. An image whose foreground spans a single row (mu02 = 0) or
  is empty is not sheared. The 20x20 crop is centred on the sheared image's grey-weighted
  centre of mass, rounded half up and clipped to the image, as MNIST centred its digits: chosen
  on the validation split (RESULTS.md) over a crop centred on the ink's bounding box, which
  moves each digit about a pixel off the alignment MNIST gave it. It cuts a little of wide
  digits' faint edges; an image without ink is cropped at its centre.
  """
  images = _check_images(images)
  return _chunked(_deslant_chunk, images, CROP)


def _deslant_fit_chunk(images: np.ndarray) -> np.ndarray:
  """deslant_fit for a slice of images."""
  sheared = _sheared(images)
  r0, r1, c0, c1 = _ink_box(sheared > 0)
  has_ink = r1 > r0
  top = np.where(has_ink, r0, 0).astype(np.float64)
  left = np.where(has_ink, c0, 0).astype(np.float64)
  height = np.where(has_ink, r1 - r0, SIDE).astype(np.float64)
  width = np.where(has_ink, c1 - c0, SIDE).astype(np.float64)
  return _resampled(sheared, _area_weights(top, height, CROP), _area_weights(left, width, CROP))


def deslant_fit(images) -> np.ndarray:
  """Another reading of the paper's deslanted 20x20 images: uint8 (N, 28, 28) -> (N, 20, 20).

  The shear of `deslant`, then the sheared ink's bounding box (grey > 0) scaled to fill the
  20x20 image, height and width each on their own (the aspect ratio is not kept), by area
  averaging (an output pixel averages the part of the box it covers; where the box is smaller
  than 20 this repeats pixels). The paper does not say how its 20x20 images were made; this
  size normalisation is what a validation probe pointed to (RESULTS.md). A blank image stays
  blank.
  """
  images = _check_images(images)
  return _chunked(_deslant_fit_chunk, images, CROP)


def _area_weights(start: np.ndarray, side: np.ndarray, out: int = REDUCED) -> np.ndarray:
  """(n, out, SIDE) weights: output j averages the input over [start + j * side / out,
  start + (j + 1) * side / out), each input pixel i weighted by its overlap with that
  interval; the parts of the interval outside the image count as background."""
  step = (side / out)[:, None, None]
  lo = start[:, None, None] + np.arange(out)[None, :, None] * step
  pixel = np.arange(SIDE, dtype=np.float64)[None, None, :]
  overlap = np.minimum(lo + step, pixel + 1.0) - np.maximum(lo, pixel)
  return np.maximum(overlap, 0.0) / step


def _resampled(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
  """(n, R, C) uint8: each image's rows mixed by `rows` (n, R, SIDE), columns by `cols`."""
  return _to_uint8(np.einsum("nji,nik,nlk->njl", rows, images.astype(np.float64), cols,
                             optimize=True))


def _reduce16_chunk(images: np.ndarray) -> np.ndarray:
  """reduce16 for a slice of images."""
  r0, r1, c0, c1 = _ink_box(images > 0)
  has_ink = r1 > r0
  side = np.maximum(np.maximum(r1 - r0, c1 - c0), CROP).astype(np.float64)
  centre_r = np.where(has_ink, (r0 + r1) / 2.0, SIDE / 2.0)
  centre_c = np.where(has_ink, (c0 + c1) / 2.0, SIDE / 2.0)
  top = _round_half_up(centre_r - side / 2.0).astype(np.float64)
  left = _round_half_up(centre_c - side / 2.0).astype(np.float64)
  out = np.zeros((images.shape[0], SIDE, SIDE), np.uint8)
  edge = (SIDE - REDUCED) // 2
  out[:, edge:edge + REDUCED, edge:edge + REDUCED] = _resampled(
      images, _area_weights(top, side), _area_weights(left, side))
  return out


def reduce16(images) -> np.ndarray:
  """The paper's 16x16 images, centred in the 28x28 field: uint8 (N, 28, 28) -> same.

  MNIST made its digits by fitting each into a 20x20 box (aspect ratio kept) and centring
  that in 28x28; the paper's 16x16 version fitted them into 16x16 instead. So the square of
  side 20 (the ink's longer side, if larger) centred on the bounding box of the ink (grey > 0,
  rounded half up to whole pixels) is area-averaged down to 16x16, which keeps all the ink
  and the aspect ratio and scales the total ink by (16 / 20)^2, and placed at rows and
  columns 6..21. A blank image stays blank.
  """
  images = _check_images(images)
  return _chunked(_reduce16_chunk, images, SIDE)


def pixel_permutation(seed: int) -> np.ndarray:
  """A permutation of the 784 pixel positions drawn with np.random.default_rng(seed); output
  pixel k of permute is input pixel permutation[k]."""
  if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
    raise ValueError(f"seed must be a non-negative int, got {seed!r}")
  return np.random.default_rng(seed).permutation(PIXELS)


def _check_permutation(permutation) -> np.ndarray:
  """permutation as an int array, or a ValueError saying what is wrong and how to make one."""
  fix = "make one with pixel_permutation(seed)"
  permutation = np.asarray(permutation)
  if permutation.shape != (PIXELS,):
    raise ValueError(f"permutation must have shape ({PIXELS},), got {permutation.shape}; {fix}")
  if not np.issubdtype(permutation.dtype, np.integer):
    raise ValueError(f"permutation must hold integers, got {permutation.dtype}; {fix}")
  if not np.array_equal(np.sort(permutation), np.arange(PIXELS)):
    raise ValueError(f"permutation must hold each of 0..{PIXELS - 1} exactly once; {fix}")
  return permutation


def permute(images, permutation) -> np.ndarray:
  """(N, 28, 28) images, any dtype, with flattened pixel k taken from pixel permutation[k];
  the same call for training and test images, so a pixel position keeps its meaning."""
  images = np.asarray(images)
  if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
    raise ValueError(f"images must have shape (N, {SIDE}, {SIDE}), got {images.shape}; "
                     "permute the 28x28 versions ('regular', '16x16')")
  permutation = _check_permutation(permutation)
  flat = images.reshape(images.shape[0], PIXELS)
  return flat[:, permutation].reshape(images.shape)


def apply(version: str, images, permutation=None) -> np.ndarray:
  """The uint8 images of `version` (one of VERSIONS): "regular" as given (28x28), "deslant"
  and "deslant_fit" 20x20, "16x16" 28x28 with the reduced digit centred; then permuted if a
  permutation is given, which only the 28x28 versions accept."""
  if version not in VERSIONS:
    raise ValueError(f"unknown version {version!r}; choose one of {VERSIONS}")
  images = _check_images(images)
  if permutation is not None and SIDES[version] != SIDE:
    raise ValueError("a permutation applies to the 28x28 versions ('regular', '16x16') only; "
                     f"'{version}' gives 20x20 images: pass permutation=None")
  make = {"deslant": deslant, "deslant_fit": deslant_fit, "16x16": reduce16}
  out = make[version](images) if version in make else images.copy()
  return out if permutation is None else permute(out, permutation)
