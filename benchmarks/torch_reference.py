"""PyTorch eager reference of jaxgan's train step, for benchmarks/step_throughput.py.

The same networks (MLP 3x512 ReLU; DCGAN generator and critic exactly as jaxgan/models/dcgan.py
builds them; SNGAN's standard CNN of jaxgan/models/sngan_cnn.py; the SNGAN / WGAN-GP CIFAR ResNets
of jaxgan/models/resnet.py), the same losses (gradient penalty through
``torch.autograd.grad(create_graph=True)``), Adam with the same hyper-parameters, the same fused
real/fake critic pass, on 2 threads. Weights are copied from the jaxgan initial state;
:func:`honesty_check` verifies the forward passes on a random input and the losses of a first step
fed with the same batch, latents and interpolation weights as jaxgan's step.

Run by itself (checks and times one case against JAX, alternating):

  python benchmarks/torch_reference.py --arch mlp --loss wgan_gp --batch 256 --steps 20

Torch is a reference only: jaxgan never imports it.

Layouts: flax Dense kernel [in, out] -> torch Linear weight [out, in]; flax Conv kernel
[kh, kw, in, out] -> torch Conv2d weight [out, in, kh, kw]; flax ConvTranspose (padding 'SAME',
``transpose_kernel=False``: the kernel is NOT flipped) [kh, kw, in, out] -> torch ConvTranspose2d
(which flips it) weight [in, out, kh, kw] flipped in both spatial axes, padding 1 for k=4, s=2
(lax pads the dilated input by 2 = k - 1 - p). Activations are NCHW in torch; the generator's
projection and the critic's flattening go through NHWC so that the dense layers see flax's order.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=wrong-import-position

try:
  import torch
  from torch import nn
  import torch.nn.functional as F
except ImportError:  # pragma: no cover
  torch = None

from jaxgan import losses as jlosses  # pylint: disable=wrong-import-position
from jaxgan import step as step_lib  # pylint: disable=wrong-import-position
from jaxgan.models import dcgan as jdcgan  # pylint: disable=wrong-import-position


def _sn(module, spectral_norm):
  """Spectral norm in jaxgan's order (torch's own SN computes u from v first, then v from u: half an
  iteration apart from jaxgan's, so its first loss differs by ~1%; the cost is the same)."""
  if not spectral_norm:
    return module
  out = module.weight.shape[0]
  torch.nn.utils.parametrize.register_parametrization(
      module, "weight", JaxganSpectralNorm(F.normalize(torch.randn(out), dim=0)))
  return module


if torch is not None:

  class JaxganSpectralNorm(nn.Module):
    """W / sigma with one power iteration per training forward: v = n(W^T u), u = n(W v),
    sigma = u^T W v (jaxgan.spectral.power_iteration); in eval, sigma from the stored u."""

    def __init__(self, u, eps=1e-12):
      super().__init__()
      self.eps = eps
      self.register_buffer("u", u)

    def forward(self, w):
      mat = w.reshape(w.shape[0], -1)
      with torch.no_grad():
        v = F.normalize(mat.T @ self.u, dim=0, eps=self.eps)
        if self.training:
          self.u.copy_(F.normalize(mat @ v, dim=0, eps=self.eps))
        u = self.u.clone()
      return w / torch.dot(u, mat @ v)

  class MLPGenerator(nn.Module):

    def __init__(self, latent_dim, hidden_dim, num_hidden, out_dim):
      super().__init__()
      dims = [latent_dim] + [hidden_dim] * num_hidden
      self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
      self.out = nn.Linear(hidden_dim, out_dim)

    def forward(self, z):
      h = z
      for layer in self.hidden:
        h = F.relu(layer(h))
      return self.out(h)

  class MLPCritic(nn.Module):

    def __init__(self, in_dim, hidden_dim, num_hidden, spectral_norm):
      super().__init__()
      dims = [in_dim] + [hidden_dim] * num_hidden
      self.hidden = nn.ModuleList(_sn(nn.Linear(a, b), spectral_norm)
                                  for a, b in zip(dims[:-1], dims[1:]))
      self.out = _sn(nn.Linear(hidden_dim, 1), spectral_norm)

    def forward(self, x):
      h = x.reshape(x.shape[0], -1)
      for layer in self.hidden:
        h = F.relu(layer(h))
      return self.out(h)[:, 0]

  class DCGANGenerator(nn.Module):

    def __init__(self, latent_dim, image_size, channels, base_channels):
      super().__init__()
      n = jdcgan.num_doublings(image_size)
      self.width = base_channels * 2 ** n
      self.project = nn.Linear(latent_dim, 16 * self.width)
      self.bn_project = nn.BatchNorm2d(self.width, eps=1e-5, momentum=0.1)
      ups, bns = [], []
      width = self.width
      for i in range(n):
        out = base_channels * 2 ** (n - 1 - i)
        ups.append(nn.ConvTranspose2d(width, out, 4, stride=2, padding=1))
        bns.append(nn.BatchNorm2d(out, eps=1e-5, momentum=0.1))
        width = out
      self.ups, self.bns = nn.ModuleList(ups), nn.ModuleList(bns)
      self.to_image = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z):
      h = self.project(z).reshape(z.shape[0], 4, 4, self.width).permute(0, 3, 1, 2)
      h = F.relu(self.bn_project(h))
      for up, bn in zip(self.ups, self.bns):
        h = F.relu(bn(up(h)))
      return torch.tanh(self.to_image(h))

  class DCGANCritic(nn.Module):

    def __init__(self, image_size, channels, base_channels, spectral_norm):
      super().__init__()
      n = jdcgan.num_doublings(image_size)
      self.from_image = _sn(nn.Conv2d(channels, base_channels, 3, padding=1), spectral_norm)
      downs, width = [], base_channels
      for i in range(n):
        out = base_channels * 2 ** (i + 1)
        downs.append(_sn(nn.Conv2d(width, out, 4, stride=2, padding=1), spectral_norm))
        width = out
      self.downs = nn.ModuleList(downs)
      self.out = _sn(nn.Linear(16 * width, 1), spectral_norm)

    def forward(self, x):
      h = F.leaky_relu(self.from_image(x), 0.2)
      for down in self.downs:
        h = F.leaky_relu(down(h), 0.2)
      h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flax's NHWC flattening order
      return self.out(h)[:, 0]

  class SNGANCNNGenerator(nn.Module):
    """jaxgan/models/sngan_cnn.py: dense -> BN (per feature, before the reshape) -> ReLU, three
    4x4 stride-2 deconvolutions 8b -> 4b -> 2b -> b with BN + ReLU, 3x3 conv, tanh."""

    def __init__(self, latent_dim, image_size, channels, base_channels):
      super().__init__()
      self.m, b = image_size // 8, base_channels
      self.width = 8 * b
      self.project = nn.Linear(latent_dim, self.m * self.m * self.width)
      self.bn_project = nn.BatchNorm1d(self.m * self.m * self.width, eps=1e-5, momentum=0.1)
      widths = (8 * b, 4 * b, 2 * b, b)
      self.ups = nn.ModuleList(nn.ConvTranspose2d(a, c, 4, stride=2, padding=1)
                               for a, c in zip(widths[:-1], widths[1:]))
      self.bns = nn.ModuleList(nn.BatchNorm2d(c, eps=1e-5, momentum=0.1) for c in widths[1:])
      self.to_image = nn.Conv2d(b, channels, 3, padding=1)

    def forward(self, z):
      h = F.relu(self.bn_project(self.project(z)))
      h = h.reshape(z.shape[0], self.m, self.m, self.width).permute(0, 3, 1, 2)
      for up, bn in zip(self.ups, self.bns):
        h = F.relu(bn(up(h)))
      return torch.tanh(self.to_image(h))

  class SNGANCNNCritic(nn.Module):
    """jaxgan/models/sngan_cnn.py: seven convolutions (Table 3(b)), leaky ReLU 0.1, dense."""

    def __init__(self, image_size, channels, base_channels, spectral_norm):
      super().__init__()
      b = base_channels
      specs = ((b, 3, 1), (b, 4, 2), (2 * b, 3, 1), (2 * b, 4, 2), (4 * b, 3, 1), (4 * b, 4, 2),
               (8 * b, 3, 1))
      convs, cin = [], channels
      for width, k, s in specs:
        convs.append(_sn(nn.Conv2d(cin, width, k, stride=s, padding=1), spectral_norm))
        cin = width
      self.convs = nn.ModuleList(convs)
      self.out = _sn(nn.Linear((image_size // 8) ** 2 * cin, 1), spectral_norm)

    def forward(self, x):
      h = x
      for conv in self.convs:
        h = F.leaky_relu(conv(h), 0.1)
      h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flax's NHWC flattening order
      return self.out(h)[:, 0]


  def _upsample(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")  # = jaxgan's repeat along H and W

  class GeneratorResBlock(nn.Module):
    """BN-ReLU-up-conv3x3-BN-ReLU-conv3x3 + (up-conv1x1) shortcut (jaxgan/models/resnet.py)."""

    def __init__(self, cin, cout):
      super().__init__()
      self.bn1, self.bn2 = nn.BatchNorm2d(cin, momentum=0.1), nn.BatchNorm2d(cout, momentum=0.1)
      self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
      self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
      self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
      h = self.conv1(_upsample(F.relu(self.bn1(x))))
      h = self.conv2(F.relu(self.bn2(h)))
      return h + self.shortcut(_upsample(x))

  class ResNetGenerator(nn.Module):

    def __init__(self, latent_dim, channels, image_size, out_channels):
      super().__init__()
      self.c = channels
      self.project = nn.Linear(latent_dim, 16 * channels)
      self.blocks = nn.ModuleList(GeneratorResBlock(channels, channels)
                                  for _ in range(jdcgan.num_doublings(image_size)))
      self.bn_out = nn.BatchNorm2d(channels, momentum=0.1)
      self.to_image = nn.Conv2d(channels, out_channels, 3, padding=1)

    def forward(self, z):
      h = self.project(z).reshape(z.shape[0], 4, 4, self.c).permute(0, 3, 1, 2)
      for block in self.blocks:
        h = block(h)
      return torch.tanh(self.to_image(F.relu(self.bn_out(h))))

  class CriticResBlock(nn.Module):
    """[first: conv3x3-ReLU-conv3x3-pool + pool-conv1x1] or ReLU-conv3x3-ReLU-conv3x3-[pool] +
    conv1x1-[pool] shortcut (where it downsamples or changes width)."""

    def __init__(self, cin, cout, downsample, first, spectral_norm):
      super().__init__()
      self.first, self.downsample = first, downsample
      hidden = cout if first else cin
      self.conv1 = _sn(nn.Conv2d(cin, hidden, 3, padding=1), spectral_norm)
      self.conv2 = _sn(nn.Conv2d(hidden, cout, 3, padding=1), spectral_norm)
      self.shortcut = (_sn(nn.Conv2d(cin, cout, 1), spectral_norm)
                       if first or downsample or cin != cout else None)

    def forward(self, x):
      if self.first:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))
      h = self.conv2(F.relu(self.conv1(F.relu(x))))
      s = x if self.shortcut is None else self.shortcut(x)
      if self.downsample:
        h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
      return h + s

  class ResNetCritic(nn.Module):

    def __init__(self, in_channels, channels, spectral_norm, pooling, output_bias):
      super().__init__()
      self.pooling = pooling
      self.blocks = nn.ModuleList([
          CriticResBlock(in_channels, channels, True, True, spectral_norm),
          CriticResBlock(channels, channels, True, False, spectral_norm),
          CriticResBlock(channels, channels, False, False, spectral_norm),
          CriticResBlock(channels, channels, False, False, spectral_norm)])
      self.out = _sn(nn.Linear(channels, 1, bias=output_bias), spectral_norm)

    def forward(self, x):
      h = x
      for block in self.blocks:
        h = block(h)
      h = F.relu(h)
      h = h.sum(dim=(2, 3)) if self.pooling == "sum" else h.mean(dim=(2, 3))
      return self.out(h)[:, 0]


# ----------------------------------------------------------------------------------------------------
# Weights from the jaxgan state
# ----------------------------------------------------------------------------------------------------
def _t(x):
  return torch.from_numpy(np.array(x, dtype=np.float32))


def _weight(module):
  """The raw weight tensor of a (possibly spectrally normalised) layer."""
  if hasattr(module, "parametrizations"):
    return module.parametrizations.weight.original
  return module.weight


def _load_upsampling_generator(g, gp, bs) -> None:
  """Loads a DCGAN-style generator (project + BN, transposed convs + BN, to_image): DCGAN's and
  SNGAN's standard CNN share these names."""
  _load_dense(g.project, gp["project"])
  _load_bn(g.bn_project, gp["bn_project"], bs["bn_project"])
  for i, (up, bn) in enumerate(zip(g.ups, g.bns)):
    _load_conv_transpose(up, gp[f"up{i}"])
    _load_bn(bn, gp[f"bn_up{i}"], bs[f"bn_up{i}"])
  _load_conv(g.to_image, gp["to_image"])


def _load_dense(module, p, spectral=None):
  with torch.no_grad():
    _weight(module).copy_(_t(p["kernel"]).T)
    if module.bias is not None:
      module.bias.copy_(_t(p["bias"]))
  _load_u(module, spectral)


def _load_conv(module, p, spectral=None):
  with torch.no_grad():
    _weight(module).copy_(_t(p["kernel"]).permute(3, 2, 0, 1))
    module.bias.copy_(_t(p["bias"]))
  _load_u(module, spectral)


def _load_u(module, spectral):
  """jaxgan keeps u [out] per SN layer in its 'spectral' collection."""
  if spectral is None or not hasattr(module, "parametrizations"):
    return
  with torch.no_grad():
    module.parametrizations.weight[0].u.copy_(_t(spectral["u"]))


def _load_conv_transpose(module, p):
  # flax does not flip the kernel (transpose_kernel=False); torch's ConvTranspose2d does.
  with torch.no_grad():
    module.weight.copy_(_t(p["kernel"]).flip(0, 1).permute(2, 3, 0, 1))
    module.bias.copy_(_t(p["bias"]))


def _load_bn(module, p, stats):
  with torch.no_grad():
    module.weight.copy_(_t(p["scale"]))
    module.bias.copy_(_t(p["bias"]))
    module.running_mean.copy_(_t(stats["mean"]))
    module.running_var.copy_(_t(stats["var"]))


def build_torch(case: common.Case, state):
  """(generator, critic) torch modules holding the weights of the jaxgan ``state``."""
  config = common.case_config(case)
  shape = common.sample_shape(case)
  gp, dp = state.g_params, state.d_params
  spectral = state.d_state.get("spectral", {}) if state.d_state else {}
  if config.model == "mlp":
    g = MLPGenerator(config.latent_dim, config.hidden_dim, config.num_hidden, shape[0])
    d = MLPCritic(shape[0], config.hidden_dim, config.num_hidden, config.spectral_norm)
    for i in range(config.num_hidden):
      _load_dense(g.hidden[i], gp[f"hidden{i}"])
      _load_dense(d.hidden[i], dp[f"hidden{i}"], spectral.get(f"hidden{i}"))
    _load_dense(g.out, gp["out"])
    _load_dense(d.out, dp["out"], spectral.get("out"))
  elif config.model == "dcgan":
    size, _, channels = shape
    g = DCGANGenerator(config.latent_dim, size, channels, config.base_channels)
    d = DCGANCritic(size, channels, config.base_channels, config.spectral_norm)
    _load_upsampling_generator(g, gp, state.g_state["batch_stats"])
    _load_conv(d.from_image, dp["from_image"], spectral.get("from_image"))
    for i, down in enumerate(d.downs):
      _load_conv(down, dp[f"down{i}"], spectral.get(f"down{i}"))
    _load_dense(d.out, dp["out"], spectral.get("out"))
  elif config.model == "sngan_cnn":
    size, _, channels = shape
    g = SNGANCNNGenerator(config.latent_dim, size, channels, config.base_channels)
    d = SNGANCNNCritic(size, channels, config.base_channels, config.spectral_norm)
    _load_upsampling_generator(g, gp, state.g_state["batch_stats"])
    for i, conv in enumerate(d.convs):
      _load_conv(conv, dp[f"conv{i}"], spectral.get(f"conv{i}"))
    _load_dense(d.out, dp["out"], spectral.get("out"))
  elif config.model in ("wgan_gp_resnet", "sngan_resnet"):
    size, _, channels = shape
    g_width = config.base_channels * (2 if config.model == "sngan_resnet" else 1)
    pooling, bias = ("sum", False) if config.model == "sngan_resnet" else ("mean", True)
    g = ResNetGenerator(config.latent_dim, g_width, size, channels)
    d = ResNetCritic(channels, config.base_channels, config.spectral_norm, pooling, bias)
    bs = state.g_state["batch_stats"]
    _load_dense(g.project, gp["project"])
    for i, block in enumerate(g.blocks):
      p, b = gp[f"block{i + 1}"], bs[f"block{i + 1}"]
      _load_bn(block.bn1, p["bn1"], b["bn1"])
      _load_bn(block.bn2, p["bn2"], b["bn2"])
      for name in ("conv1", "conv2", "shortcut"):
        _load_conv(getattr(block, name), p[name])
    _load_bn(g.bn_out, gp["bn_out"], bs["bn_out"])
    _load_conv(g.to_image, gp["to_image"])
    for i, block in enumerate(d.blocks):
      p, sp = dp[f"block{i + 1}"], spectral.get(f"block{i + 1}", {})
      for name in ("conv1", "conv2", "shortcut"):
        if getattr(block, name) is not None:
          _load_conv(getattr(block, name), p[name], sp.get(name))
    _load_dense(d.out, dp["out"], spectral.get("out"))
  else:
    raise ValueError(f"no torch reference for model {config.model!r}")
  return g, d


def to_torch_images(x) -> "torch.Tensor":
  """[..., H, W, C] (NHWC) -> torch [..., C, H, W]; vectors pass through."""
  x = np.asarray(x, np.float32)
  if x.ndim >= 4:
    x = np.moveaxis(x, -1, -3)
  return torch.from_numpy(np.array(x, dtype=np.float32, order="C", copy=True))


# ----------------------------------------------------------------------------------------------------
# The step
# ----------------------------------------------------------------------------------------------------
def _critic_loss(loss, r, f):
  if loss == "gan":
    return F.softplus(-r).mean() + F.softplus(f).mean()
  if loss in ("wgan", "wgan_gp"):
    return f.mean() - r.mean()
  if loss == "hinge":
    return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
  raise ValueError(loss)


def _generator_loss(loss, f):
  if loss == "gan":
    return -F.softplus(f).mean()  # jaxgan's 'gan' is the saturating minimax generator loss
  return -f.mean()


class TorchStep:
  """n_critic critic updates + one generator update, Adam, eager PyTorch."""

  def __init__(self, case: common.Case, state):
    self.case = case
    self.config = common.case_config(case)
    self.g, self.d = build_torch(case, state)
    c = self.config
    self.g_opt = torch.optim.Adam(self.g.parameters(), lr=c.g_lr, betas=(c.b1, c.b2), eps=1e-8)
    self.d_opt = torch.optim.Adam(self.d.parameters(), lr=c.d_lr, betas=(c.b1, c.b2), eps=1e-8)

  def critic_update(self, real, z, eps):
    c = self.config
    self.g.train()
    self.d.train()
    with torch.no_grad():
      fake = self.g(z)
    batch = real.shape[0]
    scores = self.d(torch.cat([real, fake]))
    r, f = scores[:batch], scores[batch:]
    loss = _critic_loss(c.loss, r, f)
    total = loss
    penalty = torch.zeros(())
    if c.gp_weight > 0:
      self.d.eval()  # jaxgan's penalty pass: update_stats=False (matters for SN only)
      x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
      (grad,) = torch.autograd.grad(self.d(x_hat).sum(), x_hat, create_graph=True)
      norms = grad.reshape(batch, -1).norm(dim=1)
      penalty = ((norms - c.gp_target) ** 2).mean()
      total = loss + c.gp_weight * penalty
      self.d.train()
    self.d_opt.zero_grad(set_to_none=True)
    total.backward()
    self.d_opt.step()
    if c.clip_value > 0:
      with torch.no_grad():
        for p in self.d.parameters():
          p.clamp_(-c.clip_value, c.clip_value)
    return {"critic_loss": loss.detach(), "penalty": penalty.detach(), "critic_total": total.detach()}

  def generator_update(self, z):
    c = self.config
    self.g.train()
    self.d.eval()  # jaxgan: update_stats=False in the generator's pass
    for p in self.d.parameters():
      p.requires_grad_(False)
    loss = _generator_loss(c.loss, self.d(self.g(z)))
    self.g_opt.zero_grad(set_to_none=True)
    loss.backward()
    self.g_opt.step()
    for p in self.d.parameters():
      p.requires_grad_(True)
    self.d.train()
    return {"g_loss": loss.detach()}

  def step(self, reals, zs=None, epss=None, g_z=None):
    """``reals`` torch [n_critic, B, ...]; optional latents [n_critic, B, L], epsilons
    [n_critic, B, 1, ...] and generator latents [B, L] (else drawn here)."""
    n_critic, batch = reals.shape[:2]
    latent = self.config.latent_dim
    per_update = []
    for k in range(n_critic):
      z = zs[k] if zs is not None else torch.randn(batch, latent)
      eps = (epss[k] if epss is not None
             else torch.rand(batch, *([1] * (reals.ndim - 2))))
      per_update.append(self.critic_update(reals[k], z, eps))
    out = dict(per_update[-1])
    out.update(self.generator_update(g_z if g_z is not None else torch.randn(batch, latent)))
    out["first_critic_loss"] = per_update[0]["critic_loss"]
    out["first_penalty"] = per_update[0]["penalty"]
    return out


# ----------------------------------------------------------------------------------------------------
# Same randomness as jaxgan's step, and the honesty check
# ----------------------------------------------------------------------------------------------------
def jax_step_randomness(case: common.Case, config, state, reals_ndim: int):
  """The latents and interpolation weights jaxgan's step 0 draws (step.make_updates' key scheme)."""
  critic_keys, g_key = step_lib.make_updates(config, None, None, None, None).step_keys(state)
  b, latent = case.batch_size, config.latent_dim
  zs, epss = [], []
  for k in range(case.n_critic):
    z_key, eps_key = jax.random.split(critic_keys[k])
    zs.append(np.asarray(step_lib.latents(z_key, b, latent)))
    epss.append(np.asarray(jlosses.interpolation_weights(eps_key, b, reals_ndim - 1)))
  g_z = np.asarray(step_lib.latents(g_key, b, latent))
  eps = np.stack(epss)  # [n_critic, B, 1, 1, 1] (images) or [n_critic, B, 1]
  return torch.from_numpy(np.stack(zs)), torch.from_numpy(eps.copy()), torch.from_numpy(g_z.copy())


def honesty_check(case: common.Case, rtol: float = 1e-4, atol: float = 1e-5,
                  step_rtol: float = 2e-3, step_atol: float = 1e-4, verbose: bool = True) -> dict:
  """Forward passes and first-step losses of torch vs jaxgan on the same weights and inputs.

  Raises AssertionError when they disagree. Checks (1) G(z) and D(x) on random inputs, (2) the first
  critic update's loss and penalty (same batch, latents, epsilons), (3) the metrics jaxgan's whole first
  step reports (last critic update's loss/penalty and the generator loss, after 5 Adam updates).
  """
  torch.set_num_threads(2)
  config, g, d, g_tx, d_tx, st, reals = common.setup(case)
  tg, td = build_torch(case, st)
  rng = np.random.default_rng(1)
  z = rng.standard_normal((8, config.latent_dim)).astype(np.float32)
  x = rng.uniform(-1, 1, (8, *common.sample_shape(case))).astype(np.float32)
  # The JAX side runs the case's convolution formulation (config.conv_impl, set by common.setup).
  j_gz = np.asarray(step_lib.generate(g, st, jnp.asarray(z), use_ema=False))  # inference mode
  j_dx = np.asarray(jax.jit(lambda s, v: step_lib.critic_scores(d, s, v))(st, jnp.asarray(x)))
  tg.eval()
  td.eval()
  with torch.no_grad():
    t_gz = tg(torch.from_numpy(z)).numpy()
    t_dx = td(to_torch_images(x)).numpy()
  if t_gz.ndim == 4:
    t_gz = np.moveaxis(t_gz, 1, -1)
  report = {"forward_G_max_abs": float(np.abs(j_gz - t_gz).max()),
            "forward_D_max_abs": float(np.abs(j_dx - t_dx).max())}
  np.testing.assert_allclose(t_gz, j_gz, rtol=rtol, atol=atol, err_msg="generator forward differs")
  np.testing.assert_allclose(t_dx, j_dx, rtol=rtol, atol=atol, err_msg="critic forward differs")

  # One jaxgan critic update alone, then the whole step, from the same initial state.
  upd = step_lib.make_updates(config, g, d, g_tx, d_tx)
  critic_keys, _ = upd.step_keys(st)
  _, m_first = jax.jit(upd.critic_update)(st, reals[0], critic_keys[0])
  _, m_step = jax.jit(step_lib.make_train_step(config, g, d, g_tx, d_tx))(st, reals)
  zs, epss, g_z = jax_step_randomness(case, config, st, reals.ndim)
  ts = TorchStep(case, st)
  m_torch = ts.step(to_torch_images(np.asarray(reals)), zs, epss, g_z)
  pairs = {
      "first_critic_loss": (float(m_first["critic_loss"]), float(m_torch["first_critic_loss"])),
      "first_penalty": (float(m_first["penalty"]), float(m_torch["first_penalty"])),
      "last_critic_loss": (float(m_step["critic_loss"]), float(m_torch["critic_loss"])),
      "last_penalty": (float(m_step["penalty"]), float(m_torch["penalty"])),
      "g_loss": (float(m_step["g_loss"]), float(m_torch["g_loss"])),
  }
  report["losses"] = pairs
  report["ok"] = True
  if verbose:
    print(f"  honesty check {case.name}: forward |dG|={report['forward_G_max_abs']:.2e} "
          f"|dD|={report['forward_D_max_abs']:.2e}; " + ", ".join(
              f"{k} jax={a:.6g} torch={b:.6g}" for k, (a, b) in pairs.items()), flush=True)
  for k, (a, b) in pairs.items():
    tight = k.startswith("first")
    r, t = (rtol * 10, atol) if tight else (step_rtol, step_atol)
    if not abs(a - b) <= t + r * abs(a):
      report["ok"] = False
      raise AssertionError(f"torch/JAX mismatch in {case.name}: {k} jax={a!r} torch={b!r} "
                           f"(tolerance {t} + {r} x |jax|)")
  return report


def time_torch(case: common.Case, steps: int, warmup: int = 1, step_obj=None, reals=None):
  """Per-step wall times of the torch step (fresh randomness each step, as in training)."""
  torch.set_num_threads(2)
  if step_obj is None:
    _, _, _, _, _, st, jreals = common.setup(case)
    step_obj, reals = TorchStep(case, st), to_torch_images(np.asarray(jreals))
  for _ in range(warmup):
    step_obj.step(reals)
  times = []
  for _ in range(steps):
    t0 = time.perf_counter()
    step_obj.step(reals)
    times.append(time.perf_counter() - t0)
  return times


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
  p.add_argument("--arch", default="mlp", choices=sorted(common.ARCHS))
  p.add_argument("--loss", default="wgan_gp", choices=sorted(common.LOSSES))
  p.add_argument("--batch", type=int, default=256)
  p.add_argument("--steps", type=int, default=20)
  args = p.parse_args(argv)
  if torch is None:
    sys.exit("torch is not installed (pip install -e .[torch])")
  case = common.Case(args.arch, args.loss, args.batch)
  honesty_check(case)
  compiled = common.compile_case(case)
  jt = common.time_steps(compiled, args.steps)
  tt = time_torch(case, args.steps)
  print(f"{case.name}: JAX median {statistics.median(jt):.4f} s, torch median "
        f"{statistics.median(tt):.4f} s, torch/JAX {statistics.median(tt) / statistics.median(jt):.2f}")


if __name__ == "__main__":
  main()
