"""Turn a batch of static images into a spike-train input over T time steps.

    encode(x, 8)                       # [N, C, H, W] -> [T, N, C, H, W], x repeated (the paper's)
    encode(x01, 8, "poisson", g)       # Bernoulli spikes with P(spike) = pixel intensity in [0, 1]

"direct" encoding feeds the same analogue image at every step; the first layer's neurons
turn it into spikes. "poisson" (rate) coding draws S[t] ~ Bernoulli(x) independently per
step, like snnTorch's spikegen.rate, but with an optional torch.Generator for repeatability.
"""
from __future__ import annotations

import torch

__all__ = ["ENCODINGS", "encode"]

ENCODINGS = ("direct", "poisson")


def encode(x: torch.Tensor, time_steps: int, method: str = "direct",
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Repeat ("direct") or rate-code ("poisson") x [N, C, H, W] over T steps -> [T, N, C, H, W]."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got {x.dtype}; convert with x.float()")
    if x.dim() < 1:
        raise ValueError("x must have at least one dimension, e.g. [N, C, H, W]")
    if isinstance(time_steps, bool) or not isinstance(time_steps, int) or time_steps < 1:
        raise ValueError(f"time_steps must be a positive int, got {time_steps!r}")
    if method not in ENCODINGS:
        raise ValueError(f"method must be one of {ENCODINGS}, got {method!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if method == "direct":
        return x.unsqueeze(0).repeat(time_steps, *([1] * x.dim()))
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(f"poisson encoding reads x as spike probabilities in [0, 1], got values in "
                         f"[{float(x.min()):.3g}, {float(x.max()):.3g}]; pass un-normalised images "
                         "(e.g. dataset.unnormalise(x)) or clamp them")
    u = torch.rand((time_steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    return (u < x.unsqueeze(0)).to(x.dtype)
