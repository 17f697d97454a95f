"""Exercises of notebook 12 (reading a paired multi-seed study).

The per-seed numbers are fixed in the questions, so the checks do not depend on any run; the
notebook then has the student repeat the computation on the committed real study.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ._exercise import _INTEGER, Exercise

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


def _lower_ends(ns: Iterable[int], z: float | None = None) -> Iterator[tuple[int, float]]:
    """(n, lower end) if n seeds kept the classroom differences' mean and sd (t quantile, or ``z`` if given)."""
    from ..study import paired_t_interval, t_quantile

    r = paired_t_interval(KLIF_SEEDS, LIF_SEEDS)
    for n in ns:  # lazily: t_quantile is not free
        yield n, r["mean"] - (t_quantile(0.975, n - 1) if z is None else z) * r["sd"] / n**0.5


def _seeds_to_detect(z: float | None = None) -> int:
    """Smallest number of seeds whose interval excludes 0, at the same mean and sd of the differences."""
    return next(n for n, low in _lower_ends(range(2, 1000), z) if low > 0)


def _study_interval(run: dict) -> tuple[float, float, float]:
    """(mean, low, high) in points of KLIF - LIF in a study summary (``run``: what ``committed_study`` returns)."""
    from ..study import paired_t_interval

    try:
        klif, lif = (run["variants"][v]["test_accuracy"] for v in ("klif", "lif"))
    except (KeyError, TypeError):
        raise ValueError("12.study_low needs the study summary: check('12.study_low', answer, run=summary)") from None
    r = paired_t_interval([100 * a for a in klif], [100 * a for a in lif])
    return r["mean"], r["low"], r["high"]


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
        question=f"With {_SEEDS_TEXT}, the 95 % paired t-interval of KLIF - LIF contains 0. Suppose more seeds kept "
                 "the same mean difference (+0.36) and the same sd of the differences (0.41). How many seeds n "
                 "would it take, at the least, for the interval to exclude 0?",
        reference=_seeds_to_detect,
        hint="The lower end is mean - t(0.975, n - 1) * sd / sqrt(n); try n = 6, 7, 8, ... with t_quantile(0.975, n - 1) "
             "until it is above 0.",
        worked=lambda a: "Lower ends: " + ", ".join(
            f"n = {n}: {low:+.3f}" for n, low in _lower_ends(range(5, a + 1))) + f"; the first above 0 is n = {a}.",
        wrong_example=5,
        kind=_INTEGER,
        mistakes=(
            (lambda: len(KLIF_SEEDS), "With five seeds the interval is [-0.15, +0.87]: it contains 0. (With the normal "
                                      "1.96 instead of t(0.975, 4) = 2.776 it would just exclude it: use t.)"),
        ),
    ),
    Exercise(
        name="12.study_low",
        question="In the real study of this notebook, what is the lower end of the 95 % paired t-interval of "
                 "KLIF - LIF, in percentage points? Compute it from the per-seed accuracies acc_klif and acc_lif. "
                 "Does the interval exclude 0?",
        reference=lambda run: _study_interval(run)[1],
        hint="paired_t_interval(acc_klif, acc_lif) (accuracies in %) or the formula of section 4 on the per-seed "
             "differences: mean - t(0.975, n - 1) * sd / sqrt(n), with n the number of seeds.",
        worked=lambda a: f"The interval's lower end is {a:+.2f} points: {'above 0, so it excludes 0' if a > 0 else 'not above 0, so the interval contains 0: no difference detectable at this budget'}.",
        wrong_example=0.0,
        atol=0.005,  # read off the report's two decimals
        needs_run=True,
        example_run=lambda: {"variants": {"klif": {"test_accuracy": [a / 100 for a in KLIF_SEEDS]},
                                          "lif": {"test_accuracy": [a / 100 for a in LIF_SEEDS]}}},
        mistakes=(
            (lambda run: _study_interval(run)[2], "That is the upper end of the interval."),
            (lambda run: _study_interval(run)[0], "That is the mean difference, the middle of the interval."),
            (lambda run: _study_interval(run)[1] / 100, "In percentage points, please: the accuracies are in %."),
        ),
    ),
]
