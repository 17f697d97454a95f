"""Exercises of notebook 12 (reading a paired multi-seed study).

The per-seed numbers are fixed in the questions, so the checks do not depend on any run; the
notebook then has the student repeat the computation on the committed real study.
"""
from __future__ import annotations

from ._exercise import _CHOICE, Exercise

#: Test accuracy (%) of five seeds, KLIF and LIF trained alike seed by seed (made-up classroom numbers).
KLIF_SEEDS = (85.1, 84.6, 85.9, 84.8, 85.3)
LIF_SEEDS = (84.7, 84.9, 85.2, 84.1, 85.0)
_SEEDS_TEXT = f"KLIF {list(KLIF_SEEDS)} and LIF {list(LIF_SEEDS)} (seeds 0-4, in order)"


def _interval(z: float | None = None, per_seed_sd: bool = False) -> tuple[float, float, float]:
    """(mean, low, high) of the paired differences; the keyword arguments make the known mistakes."""
    from ..study import paired_t_interval  # lazy: the catalogue loads without the study module

    r = paired_t_interval(KLIF_SEEDS, LIF_SEEDS)
    spread = r["sd"] if per_seed_sd else r["se"]
    half = (r["t"] if z is None else z) * spread
    return r["mean"], r["mean"] - half, r["mean"] + half


def _unpaired_low() -> float:
    """The lower end if the two lists were treated as independent samples (sd of a difference of means)."""
    from ..study import mean_sd, t_quantile

    (ma, sa), (mb, sb) = mean_sd(KLIF_SEEDS), mean_sd(LIF_SEEDS)
    n = len(KLIF_SEEDS)
    return (ma - mb) - t_quantile(0.975, n - 1) * ((sa**2 + sb**2) / n) ** 0.5


EXERCISES = [
    Exercise(
        name="12.paired_mean",
        question=f"Five seeds gave test accuracies (%) {_SEEDS_TEXT}. What is the mean paired difference "
                 "KLIF - LIF, in percentage points?",
        reference=lambda: _interval()[0],
        hint="Subtract seed by seed (KLIF minus LIF of the same seed), then average the five differences.",
        worked=lambda a: f"Differences 0.4, -0.3, 0.7, 0.7, 0.3; their mean is {a:.2f} points.",
        wrong_example=-0.36,
        atol=0.01,
        mistakes=((lambda: -_interval()[0], "That is LIF - KLIF: the sign matters, subtract LIF from KLIF."),),
    ),
    Exercise(
        name="12.interval_low",
        question=f"Same numbers: {_SEEDS_TEXT}. What is the lower end of the 95 % paired t-interval of the "
                 "difference KLIF - LIF, in percentage points? (t(0.975, 4) = 2.776)",
        reference=lambda: _interval()[1],
        hint="mean(d) - t * sd(d) / sqrt(n), with d the five per-seed differences, sd with n - 1, "
             "and t for n - 1 = 4 degrees of freedom.",
        worked=lambda a: ("d = 0.4, -0.3, 0.7, 0.7, 0.3: mean 0.36, sd 0.41 (n - 1 in the denominator), "
                          f"standard error 0.41 / sqrt(5) = 0.183; 0.36 - 2.776 x 0.183 = {a:.2f}."),
        wrong_example=0.36,
        atol=0.01,
        mistakes=(
            (lambda: _interval(z=1.96)[1], "1.96 is the normal quantile; with 5 seeds use t(0.975, 4) = 2.776."),
            (lambda: _interval(per_seed_sd=True)[1], "Divide the sd by sqrt(n): the interval is for the mean."),
            (_unpaired_low, "That treats the lists as unrelated samples; the design is paired, so work with "
                            "the per-seed differences."),
        ),
    ),
    Exercise(
        name="12.detectable",
        question=f"With {_SEEDS_TEXT}: does the 95 % paired t-interval of KLIF - LIF exclude zero, "
                 "i.e. is a difference detectable at this budget? Answer \"yes\" or \"no\".",
        reference=lambda: "yes" if _interval()[1] > 0 or _interval()[2] < 0 else "no",
        hint="Compute both ends of the interval and look whether 0 lies between them.",
        worked=lambda a: (f"The interval runs from {_interval()[1]:.2f} to {_interval()[2]:.2f} points: it "
                          f"contains 0, so the answer is {a!r}. A mean of +0.36 alone is not evidence."),
        wrong_example="yes",
        kind=_CHOICE,
        choices=("yes", "no"),
    ),
]
