"""Surrogate spike functions: Heaviside forward, a smooth derivative backward.

Each surrogate is a smooth step ``g(x)`` rising from 0 to 1 around ``x = 0``; its derivative
``g'(x)`` (area 1) replaces the Dirac delta of the Heaviside step in the backward pass.
``alpha`` sets the steepness: a larger alpha gives a taller, narrower ``g'``.

    spike = Sigmoid(alpha=4.0)(x)     # forward: Theta(x) with Theta(0) = 1
                                      # backward: grad * g'(x)

For KLIF, ``effective_surrogate`` gives the derivative of the spike with respect to the
membrane potential H, ``dS/dH = k * g'(k*H - V_th)`` where ``k*H > 0`` (zero elsewhere).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "Surrogate",
    "Sigmoid",
    "ATan",
    "Triangle",
    "FastSigmoid",
    "Rectangular",
    "heaviside",
    "EffectiveSurrogate",
    "effective_derivative",
    "effective_surrogate",
    "ALL",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Theta(x): 1 where x >= 0, else 0 (same dtype as x)."""
    return (x >= 0).to(x.dtype)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: "Surrogate") -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


class Surrogate:
    """Base class: subclasses define ``primitive`` (the smooth step) and ``derivative``."""

    default_alpha: float = 1.0

    def __init__(self, alpha: float | None = None) -> None:
        alpha = self.default_alpha if alpha is None else alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(
                f"{type(self).__name__}: alpha must be a positive number, got {type(alpha).__name__}"
            )
        if not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(
                f"{type(self).__name__}: alpha must be a positive number (it sets the steepness), "
                f"got {alpha}"
            )
        self.alpha = float(alpha)

    # --- the curve ------------------------------------------------------------------------
    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """The smooth step g(x) that the surrogate derivative belongs to."""
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """g'(x): what replaces the Dirac delta in the backward pass."""
        raise NotImplementedError

    @property
    def peak(self) -> float:
        """Largest value of g'(x), reached at x = 0."""
        return float(self.derivative(torch.zeros((), dtype=torch.float64)))

    @property
    def width(self) -> float:
        """The width of g': its full width at half maximum (FWHM), the x range where g'(x) >= peak / 2.

        The one meaning of "width" in this package (``EffectiveSurrogate.width`` is the same measure in H).
        """
        return 2.0 * self.half_max_halfwidth()

    def half_max_halfwidth(self) -> float:
        """x > 0 where g'(x) falls to half its peak: half of ``width`` (every surrogate here is symmetric)."""
        half = self.peak / 2.0
        lo, hi = 0.0, 1.0
        while float(self.derivative(torch.tensor(hi, dtype=torch.float64))) >= half:
            hi *= 2.0
        for _ in range(60):  # bisection to double precision
            mid = 0.5 * (lo + hi)
            if float(self.derivative(torch.tensor(mid, dtype=torch.float64))) >= half:
                lo = mid
            else:
                hi = mid
        return lo

    def curve(
        self, lo: float = -2.0, hi: float = 2.0, n: int = 401
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x, g(x), g'(x)) on an even grid, for plots."""
        x = torch.linspace(lo, hi, n, dtype=torch.float64)
        return x, self.primitive(x), self.derivative(x)

    # --- use -----------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Spike: Theta(x) forward, grad * g'(x) backward."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}; "
                "wrap it with torch.as_tensor(x, dtype=torch.float32)"
            )
        return _SpikeFunction.apply(x, self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha:g})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.alpha == other.alpha  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.alpha))


class Sigmoid(Surrogate):
    """g(x) = sigmoid(alpha*x);  g'(x) = alpha * g(x) * (1 - g(x)).  KLIF's default, alpha = 4."""

    default_alpha = 4.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.alpha * x)
        return self.alpha * g * (1.0 - g)


class ATan(Surrogate):
    """g(x) = 1/2 + atan(pi/2 * alpha*x) / pi;  g'(x) = (alpha/2) / (1 + (pi/2 * alpha*x)^2)."""

    default_alpha = 2.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 + torch.atan(0.5 * math.pi * self.alpha * x) / math.pi

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (0.5 * self.alpha) / (1.0 + (0.5 * math.pi * self.alpha * x) ** 2)


class Triangle(Surrogate):
    """Piecewise-linear derivative: g'(x) = alpha * max(0, 1 - alpha*|x|) (a triangle of area 1)."""

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        ax = (self.alpha * x).clamp(-1.0, 1.0)
        return torch.where(ax < 0, 0.5 * (1.0 + ax) ** 2, 1.0 - 0.5 * (1.0 - ax) ** 2)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (1.0 - self.alpha * x.abs()).clamp(min=0.0)


class FastSigmoid(Surrogate):
    """g(x) = 1/2 * (1 + alpha*x / (1 + alpha*|x|));  g'(x) = (alpha/2) / (1 + alpha*|x|)^2.

    The "fast sigmoid" of SuperSpike / snnTorch, scaled so that g rises from 0 to 1 (area 1).
    snnTorch's ``surrogate.fast_sigmoid(slope)`` uses ``1 / (1 + slope*|x|)^2`` instead: peak 1,
    area 2/slope. So ``FastSigmoid(alpha=s).derivative == (s/2) * snnTorch's fast_sigmoid(slope=s)``;
    snnTorch's default slope 25 gives gradients 12.5 times smaller than ``FastSigmoid(25)``.
    (snnTorch also fires on x > 0, we on x >= 0.)
    """

    default_alpha = 4.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        ax = self.alpha * x
        return 0.5 * (1.0 + ax / (1.0 + ax.abs()))

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (0.5 * self.alpha) / (1.0 + self.alpha * x.abs()) ** 2


class Rectangular(Surrogate):
    """g'(x) = alpha where |x| < 1/(2*alpha), else 0 (a box of area 1); g is a clamped ramp."""

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return (self.alpha * x + 0.5).clamp(0.0, 1.0)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (x.abs() < 0.5 / self.alpha).to(x.dtype)


ALL: dict[str, type[Surrogate]] = {
    cls.__name__: cls for cls in (Sigmoid, ATan, Triangle, FastSigmoid, Rectangular)
}


# --- KLIF's effective surrogate ------------------------------------------------------------
def effective_derivative(
    surrogate: Surrogate, h: torch.Tensor, k: float = 1.0, v_threshold: float = 1.0
) -> torch.Tensor:
    """dS/dH for KLIF: ``k * g'(k*H - V_th)`` where ``k*H > 0``, else 0 (the ReLU gate).

    With k = 1 and H > 0 this is the plain LIF surrogate ``g'(H - V_th)``.
    """
    kh = k * h
    return torch.where(kh > 0, k * surrogate.derivative(kh - v_threshold), torch.zeros_like(h))


@dataclass(frozen=True)
class EffectiveSurrogate:
    """KLIF's surrogate seen from H, as numbers and a curve.

    ``center``: V_th / k; ``peak_slope``: k * g'(0); ``width``: the range of H over which
    dS/dH is at least half its peak (full width at half maximum, clipped by the ReLU gate).
    """

    surrogate: Surrogate
    k: float
    v_threshold: float
    center: float
    peak_slope: float
    width: float
    h: torch.Tensor
    dsdh: torch.Tensor


def effective_surrogate(
    surrogate: Surrogate,
    k: float = 1.0,
    v_threshold: float = 1.0,
    h: torch.Tensor | None = None,
) -> EffectiveSurrogate:
    """Effective surrogate of KLIF with respect to H for a given k (k > 0).

    Slope is multiplied by k, width divided by k, centre moved to V_th / k.
    """
    k = float(k.detach()) if isinstance(k, torch.Tensor) else k
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k > 0:
        raise ValueError(f"effective_surrogate: k must be a positive number, got {k!r}")
    if not v_threshold > 0:
        raise ValueError(f"effective_surrogate: v_threshold must be > 0, got {v_threshold!r}")
    k, v_threshold = float(k), float(v_threshold)
    half = surrogate.half_max_halfwidth()
    # In x = k*H - V_th the half-maximum band is [-half, half]; the gate cuts x <= -V_th.
    width = (half - max(-half, -v_threshold)) / k
    if h is None:
        center = v_threshold / k
        span = max(3.0 * width, 1.5 * center)
        h = torch.linspace(min(-0.25 * span, center - span), center + span, 801, dtype=torch.float64)
    return EffectiveSurrogate(
        surrogate=surrogate,
        k=k,
        v_threshold=v_threshold,
        center=v_threshold / k,
        peak_slope=k * surrogate.peak,
        width=width,
        h=h,
        dsdh=effective_derivative(surrogate, h, k, v_threshold),
    )
