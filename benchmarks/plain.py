"""The rows lenet_jax is compared with: a plain LeNet-5 (full C3, tanh, average pooling, a linear
output, softmax cross-entropy, SGD with momentum) trained the Flax examples' way and PyTorch's."""
from __future__ import annotations

import flax.linen as nn
from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from timing import block, summarise, time_windows, timed

try:
  import torch
except ImportError:  # optional: only the PyTorch rows need it
  torch = None

TORCH_MISSING = "torch not installed: pip install torch==2.13.0"
PLAIN_LR = 0.01         # SGD with momentum 0.9, as in the Flax MNIST example; irrelevant to speed


class PlainLeNet5(nn.Module):
  """LeNet-5 as most tutorials write it: full C3, tanh, average pooling, a linear 10-way output."""

  @nn.compact
  def __call__(self, x):                                    # (batch, 32, 32, 1)
    x = nn.avg_pool(nn.tanh(nn.Conv(6, (5, 5), padding="VALID")(x)), (2, 2), (2, 2))
    x = nn.avg_pool(nn.tanh(nn.Conv(16, (5, 5), padding="VALID")(x)), (2, 2), (2, 2))
    x = nn.tanh(nn.Conv(120, (5, 5), padding="VALID")(x))   # (batch, 1, 1, 120)
    x = x.reshape((x.shape[0], -1))
    x = nn.tanh(nn.Dense(84)(x))
    return nn.Dense(10)(x)


@jax.jit
def flax_train_step(state, images, labels):
  """The Flax examples' step: value_and_grad of the mean softmax cross-entropy, then
  TrainState.apply_gradients. The loss stays on the device (not read back every step)."""
  def loss_fn(params):
    logits = state.apply_fn({"params": params}, images)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), loss


def bench_flax(args, batch, steps, train_x, train_y, rng) -> dict:
  """A Python loop over NumPy batches indexed from a host permutation, as the Flax examples'
  train_epoch does: the indexing and host-to-device copy are part of each step."""
  model = PlainLeNet5()
  params = model.init(jax.random.PRNGKey(args.seed), jnp.zeros((1, 32, 32, 1)))["params"]
  state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                        tx=optax.sgd(PLAIN_LR, momentum=0.9))
  n = train_x.shape[0]
  perm = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch // n))])
  perm = perm[:steps * batch].reshape(steps, batch)

  def run(state, n_steps):
    for i in range(n_steps):
      rows = perm[i % steps]
      state, _ = flax_train_step(state, train_x[rows], train_y[rows])
    return block(state)

  return time_windows(args, run, state, steps, batch, params=lambda s: s.params)


def torch_lenet5():
  """The same plain LeNet-5 as PlainLeNet5, in PyTorch's NCHW layout."""
  tnn = torch.nn
  return tnn.Sequential(
      tnn.Conv2d(1, 6, 5), tnn.Tanh(), tnn.AvgPool2d(2),
      tnn.Conv2d(6, 16, 5), tnn.Tanh(), tnn.AvgPool2d(2),
      tnn.Conv2d(16, 120, 5), tnn.Tanh(), tnn.Flatten(),
      tnn.Linear(120, 84), tnn.Tanh(), tnn.Linear(84, 10))


def bench_torch(args, batch, steps, train_x, train_y, rng) -> dict:
  """The standard PyTorch loop on in-memory tensors (no DataLoader): index, zero_grad, forward,
  cross-entropy, backward, step. Eager CPU execution is synchronous, so no extra sync is needed."""
  torch.manual_seed(args.seed)
  model = torch_lenet5()
  opt = torch.optim.SGD(model.parameters(), lr=PLAIN_LR, momentum=0.9)
  x = torch.from_numpy(np.ascontiguousarray(train_x.transpose(0, 3, 1, 2)))   # NHWC -> NCHW
  y = torch.from_numpy(train_y.astype(np.int64))
  n = x.shape[0]
  perm = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch // n))])
  perm = torch.from_numpy(perm[:steps * batch].reshape(steps, batch))
  loss_fn = torch.nn.functional.cross_entropy

  def run(n_steps):
    for i in range(n_steps):
      rows = perm[i % steps]
      opt.zero_grad()
      loss = loss_fn(model(x[rows]), y[rows])
      loss.backward()
      opt.step()

  run(args.warmup)
  seconds = [timed(lambda: run(steps)) for _ in range(args.repeats)]
  ok = all(bool(torch.isfinite(p).all()) for p in model.parameters())
  return summarise(seconds, steps, batch, finite=ok)
