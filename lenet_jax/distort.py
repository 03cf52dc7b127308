"""Random affine distortions of training images (the paper's 0.8% run), as a pure function of a
PRNG key and one image, so they run on the device inside the jitted training step.

The paper added 540,000 distorted copies of the training set, made by "planar affine
transformations: translation, scaling, squeezing (simultaneous horizontal compression and
vertical elongation, or the reverse) and shearing". Here every presentation of an image draws a
fresh transform instead of cycling through a fixed distorted set.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lenet_jax import paper

# Ranges: the paper does not give them. These keep a 20x20 digit inside the 32x32 field.
DEFAULTS = paper.DISTORTIONS


def affine(image, matrix, shift, background):
  """Warps image (H, W, 1): output pixel p samples the input at matrix @ (p - c) + c - shift
  (c the image centre), bilinearly; outside the image is `background`."""
  h, w = image.shape[:2]
  rows, cols = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32),
                            indexing="ij")
  centre = jnp.array([(h - 1) / 2.0, (w - 1) / 2.0], jnp.float32)
  p = jnp.stack([rows.ravel(), cols.ravel()]) - centre[:, None]
  q = matrix @ p + centre[:, None] - shift[:, None]
  out = jax.scipy.ndimage.map_coordinates(image[..., 0], [q[0], q[1]], order=1, mode="constant",
                                          cval=background)
  return out.reshape(h, w, 1)


def random_affine(key, image, *, max_shift=DEFAULTS["max_shift"],
                  max_scale=DEFAULTS["max_scale"], max_squeeze=DEFAULTS["max_squeeze"],
                  max_shear=DEFAULTS["max_shear"], background=-0.1):
  """One random translation, scaling, squeezing and shear of image (H, W, 1), each drawn
  uniformly within +-its maximum (shift in pixels, the others as fractions)."""
  k_shift, k_scale, k_squeeze, k_shear = jax.random.split(key, 4)
  shift = jax.random.uniform(k_shift, (2,), minval=-max_shift, maxval=max_shift)
  scale = 1.0 + jax.random.uniform(k_scale, (), minval=-max_scale, maxval=max_scale)
  squeeze = 1.0 + jax.random.uniform(k_squeeze, (), minval=-max_squeeze, maxval=max_squeeze)
  shear = jax.random.uniform(k_shear, (), minval=-max_shear, maxval=max_shear)
  # Rows stretch by scale*squeeze while columns shrink by scale/squeeze (squeezing), then a
  # horizontal shear proportional to the row.
  matrix = jnp.array([[1.0 / (scale * squeeze), 0.0],
                      [shear, squeeze / scale]], jnp.float32)
  return affine(image, matrix, shift, background)


def distort_batch(key, images, **ranges):
  """random_affine for every image of a batch (N, H, W, 1), each with its own key."""
  keys = jax.random.split(key, images.shape[0])
  return jax.vmap(lambda k, x: random_affine(k, x, **ranges))(keys, images)
