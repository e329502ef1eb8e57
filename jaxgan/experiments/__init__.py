"""Runnable experiments: each one turns a claim of the lecture notes into numbers and a picture.

Every experiment is a module with a ``main(argv)`` entry point::

  python -m jaxgan.experiments.NAME [--workdir DIR] [--quick]

It writes a PNG and a small JSON of its numbers into the workdir (default
``runs/experiments/NAME``) and prints its key numbers. ``--quick`` runs the same code with smaller
sizes (seconds instead of minutes). ``docs/claims.md`` lists each claim, its command and what we
measured.

Experiments:
  * :mod:`jaxgan.experiments.parallel_lines`: W, JS, KL and TV on the WGAN paper's parallel lines.
  * :mod:`jaxgan.experiments.vanishing_gradients`: the BCE generator's gradient vanishes as the
    discriminator wins; the W-loss critic's does not.
  * :mod:`jaxgan.experiments.mode_collapse`: BCE GAN vs WGAN-GP (and SNGAN) mode coverage on
    ring8, grid25 and digits.
  * :mod:`jaxgan.experiments.clipping_vs_penalty`: the WGAN-GP paper's figure 1: weight clipping
    vs gradient penalty (value surfaces, per-layer gradient norms, weight histograms).
  * :mod:`jaxgan.experiments.w_estimate_tracks_quality`: the critic's W estimate tracks sample
    quality; the BCE discriminator's JS estimate does not.
  * :mod:`jaxgan.experiments.spectral_vs_penalty`: spectral normalization vs gradient penalty on
    the same critic: Lipschitz constant, step time, mode coverage.
"""

EXPERIMENTS = ("parallel_lines", "vanishing_gradients", "mode_collapse", "clipping_vs_penalty",
               "w_estimate_tracks_quality", "spectral_vs_penalty")
