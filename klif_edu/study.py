"""A paired, multi-seed comparison of neuron variants: KLIF, LIF, PLIF, KLIF's ablations and k's two effects.

    summary = run_study(StudyConfig(dataset="fashion-mnist", seeds=5, epochs=2, limit_train=10000))
    summary["comparisons"]["klif - lif"]      # per-seed differences, mean, sd, 95 % interval

Every (seed, variant) run goes through ``klif_edu.training.train`` into
``OUT/runs/<variant>-seed<S>`` with identical settings. The seed fixes the initial weights
of the synapses (the neurons draw no random numbers), the training subset, the data order
and the dropout masks, so the runs of one seed differ only in the neuron: a *paired*
design. Runs go seed by seed, so an interrupted study holds complete pairs; ``resume``
finishes unfinished runs from their checkpoints and skips finished ones. After every run
``OUT/study.json`` is rewritten (atomically) with what is known so far.

Statistics (no SciPy needed): for each comparison "a - b" the per-seed differences
d_i = acc_a(seed i) - acc_b(seed i), their mean and sample sd (n - 1), and the 95 %
paired t-interval mean +/- t(0.975, n-1) * sd / sqrt(n), with the t quantile computed
exactly here (``t_quantile``).
"""
from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from .checkpoint import write_json_atomic
from .run_identity import STUDY_MAY_DIFFER, describe, differences, identity_of_config

__all__ = [
    "VARIANTS",
    "DEFAULT_VARIANTS",
    "COMPARISONS",
    "METHOD",
    "StudyConfig",
    "StudyMismatch",
    "study_identity",
    "run_study",
    "summarize",
    "mean_sd",
    "paired_t_interval",
    "t_quantile",
    "student_t_two_sided",
    "report",
    "save_figure",
    "load_summary",
    "committed_study",
    "COMMITTED",
    "COMMITTED_LONGER",
    "COMMITTED_PEERS",
]

#: The variants: the paper's KLIF, LIF, KLIF with one ingredient removed, PLIF (a learned leak), and
#: KLIF with k on the firing only (k-fire) or on the leak only (k-leak) (see klif_edu.models).
VARIANTS = ("klif", "lif", "k-only", "gate-only", "plif", "k-fire", "k-leak")
#: What `klif-edu study` runs when no --variants are given (the first study's 2 x 2 design).
DEFAULT_VARIANTS = ("klif", "lif", "k-only", "gate-only")
#: The paired comparisons reported when both variants ran; KLIF - LIF is the headline.
#: The four variants are a 2 x 2 design (learnable k: yes/no, ReLU gate: yes/no).
COMPARISONS = (
    ("klif", "lif"),  # both ingredients
    ("k-only", "lif"),  # a learnable k alone
    ("gate-only", "lif"),  # the ReLU gate alone
    ("klif", "gate-only"),  # adding a learnable k to the gate
    ("klif", "k-only"),  # adding the gate to a learnable k
    ("plif", "lif"),  # a learned leak (PLIF's tau)
    ("klif", "plif"),  # KLIF against the neuron that learns only the leak
    ("k-fire", "lif"),  # k on the firing (threshold, surrogate) alone
    ("k-leak", "lif"),  # k on the leak alone
    ("klif", "k-fire"),  # what k's effect on the leak adds
    ("klif", "k-leak"),  # what k's effect on the firing adds
    ("k-fire", "plif"),  # k's firing effect against a learned leak
)
#: The real study committed with the repository (relative to its root).
COMMITTED = Path("results") / "study_fashion_mnist.json"
#: The same study at a longer budget (10,000 images x 2 epochs, 5 seeds), where k moves further.
COMMITTED_LONGER = Path("results") / "study_fashion_mnist_10k_2ep.json"
#: KLIF among its peers: KLIF, LIF, PLIF, k-fire and k-leak at the longer budget (10,000 images x 2 epochs).
COMMITTED_PEERS = Path("results") / "study_fashion_mnist_peers.json"
METHOD = "paired t-interval: mean(d) +/- t(0.975, n-1) * sd(d) / sqrt(n), d = per-seed difference"
#: The study's settings that must match for --resume to continue it (with the data folder and the
#: device: ``study_identity``); what may differ inside a study is ``run_identity.STUDY_MAY_DIFFER`` (nothing).
_FIXED = ("dataset", "arch", "epochs", "time_steps", "batch_size", "lr", "loss", "limit_train",
          "limit_test", "backend", "first_seed")


class StudyMismatch(ValueError):
    """The output folder holds a study with other settings, or one that resume was not asked to continue."""


@dataclass
class StudyConfig:
    """Settings of a study: the variants, how many seeds, and one training budget shared by all runs."""

    dataset: str = "embedded-fashion-mnist"
    variants: Sequence[str] = DEFAULT_VARIANTS
    seeds: int = 5
    first_seed: int = 0
    epochs: int = 1
    arch: str = "small"
    time_steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    loss: str = "mse"
    limit_train: int | None = None
    limit_test: int | None = None
    device: str = "auto"
    backend: str = "eager"
    data_dir: str | None = None
    out: str | None = None  # None: runs/study-<dataset>-<arch>
    resume: bool = False

    def check(self) -> "StudyConfig":
        """Raise ValueError naming the first bad setting."""
        variants = list(self.variants)
        unknown = [v for v in variants if v not in VARIANTS]
        if not variants or unknown:
            raise ValueError(f"unknown variant(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                             f"choose from: {', '.join(VARIANTS)}")
        if len(set(variants)) != len(variants):
            raise ValueError(f"variants must not repeat, got {', '.join(variants)}")
        for name in ("seeds", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.first_seed, bool) or not isinstance(self.first_seed, int) or self.first_seed < 0:
            raise ValueError(f"first_seed must be an integer >= 0, got {self.first_seed!r}")
        self.variants = tuple(variants)
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out else Path("runs") / f"study-{self.dataset}-{self.arch}"

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))


# --- statistics -------------------------------------------------------------------------------
def mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    """(mean, sample standard deviation with n - 1); sd is None for a single value."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_sd needs at least one value")
    mean = math.fsum(values) / n
    if n == 1:
        return mean, None
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def student_t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer df >= 1 (the exact finite series in cos(theta))."""
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be a positive integer, got {df!r}")
    theta = math.atan(abs(t) / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2 == 1:  # odd: (2/pi) * (theta + sin*cos * (1 + 2/3 c^2 + 2*4/(3*5) c^4 + ...))
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for j in range(1, (df - 1) // 2):
            term *= c2 * (2 * j) / (2 * j + 1)
            total += term
        return (2 / math.pi) * (theta + s * math.cos(theta) * total)
    term, total = 1.0, 1.0  # even: sin * (1 + 1/2 c^2 + 1*3/(2*4) c^4 + ...)
    for j in range(1, df // 2):
        term *= c2 * (2 * j - 1) / (2 * j)
        total += term
    return s * total


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with df degrees of freedom (p in (0.5, 1)); t(0.975, 4) = 2.776."""
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must lie in (0.5, 1), got {p!r}")
    target = 2 * p - 1  # P(|T| <= t)
    low, high = 0.0, 1.0
    while student_t_two_sided(high, df) < target:
        high *= 2
    for _ in range(200):  # bisection to machine precision
        mid = 0.5 * (low + high)
        if student_t_two_sided(mid, df) < target:
            low = mid
        else:
            high = mid
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high)


def paired_t_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Differences d = a - b (same seeds, same order), their mean, sd, and the paired t-interval.

    Returns {"differences", "n", "mean", "sd", "se", "t", "low", "high", "confidence"}; with one
    pair the sd and the interval are None (one difference says nothing about its spread).
    """
    if len(a) != len(b):
        raise ValueError(f"paired values must come in pairs: {len(a)} vs {len(b)} values")
    d = [x - y for x, y in zip(a, b)]
    mean, sd = mean_sd(d)
    out: dict[str, Any] = {"differences": d, "n": len(d), "mean": mean, "sd": sd, "se": None, "t": None,
                           "low": None, "high": None, "confidence": confidence}
    if sd is not None:
        t = t_quantile(0.5 + confidence / 2, len(d) - 1)
        se = sd / math.sqrt(len(d))
        out.update(se=se, t=t, low=mean - t * se, high=mean + t * se)
    return out


# --- the summary ------------------------------------------------------------------------------
def summarize(config: StudyConfig, metrics: dict[str, dict[int, dict[str, Any]]], wall_s: float) -> dict[str, Any]:
    """The study's JSON summary from the finished runs' metrics ({variant: {seed: metrics.json}})."""
    seeds = config.seed_list
    variants: dict[str, Any] = {}
    for v in config.variants:
        runs = metrics.get(v, {})
        done = [s for s in seeds if s in runs]
        acc = [runs[s]["test_accuracy"] for s in done]
        mean, sd = mean_sd(acc) if acc else (None, None)
        variants[v] = {"seeds": done, "test_accuracy": acc, "mean": mean, "sd": sd,
                       "k": [runs[s].get("k", {}) for s in done],
                       **({"tau": [runs[s].get("tau", {}) for s in done]} if v == "plif" else {}),
                       "wall_time_s": [runs[s].get("wall_time_s") for s in done]}
    comparisons = {}
    for a, b in COMPARISONS:
        if a in variants and b in variants:
            both = [s for s in seeds if s in metrics.get(a, {}) and s in metrics.get(b, {})]
            if both:
                stats = paired_t_interval([metrics[a][s]["test_accuracy"] for s in both],
                                          [metrics[b][s]["test_accuracy"] for s in both])
                comparisons[f"{a} - {b}"] = {"a": a, "b": b, "seeds": both, **stats}
    device, mixed = _one_device(metrics)
    first = next((m for runs in metrics.values() for m in runs.values()), {})
    settings = {k: v for k, v in asdict(config).items() if k not in ("out", "resume", "data_dir")}
    settings.update(variants=list(config.variants), seeds=seeds, time_steps_used=first.get("time_steps"),
                    train_size=first.get("train_size"), test_size=first.get("test_size"))
    return {
        "format": "klif-edu-study", "version": 1,
        "complete": all(len(variants[v]["seeds"]) == len(seeds) for v in config.variants),
        "settings": settings, "variants": variants, "comparisons": comparisons,
        "method": METHOD, "wall_time_s": wall_s,  # the runs' training + evaluation time, summed
        "identity": study_identity(config),
        "hardware": {"device": device, "mixed_precision": mixed, "platform": platform.platform(),
                     "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                     "torch_threads": torch.get_num_threads(), "torch_version": str(torch.__version__),
                     "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
                     "environment": first.get("environment")},  # the first run's (klif_edu.provenance)
    }


# --- running ----------------------------------------------------------------------------------
def study_identity(config: StudyConfig) -> dict[str, Any]:
    """What fixes a study's numbers: its budget, the data folder and the device (one for all its runs)."""
    from .device import explain_device

    device = explain_device(config.device)[0].type
    data_dir = None if config.data_dir is None else str(config.data_dir)
    return {**{k: getattr(config, k) for k in _FIXED}, "data_dir": data_dir, "device": device,
            "mixed_precision": device == "cuda"}


def _check_resume(config: StudyConfig, path: Path) -> None:
    """Refuse to mix: an existing study continues only with resume and the same identity."""
    if not path.exists() and not (path.parent / "runs").exists():
        return
    if not config.resume:
        raise StudyMismatch(f"{path.parent} already holds a study; pass --resume to continue it "
                            "or --out DIR to start a new one")
    if not path.exists():
        return  # interrupted during its first run: nothing to compare yet (each run checks its own)
    try:
        saved = json.loads(path.read_text())
        old = saved.get("identity") or saved["settings"]  # studies from before identities: their settings
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise StudyMismatch(f"{path} is not a readable klif-edu study ({err}); move it away or use --out") from None
    mine = study_identity(config)
    differ = [f"{k}: {there!r} there, {now!r} now" for k, there, now in differences(old, mine, STUDY_MAY_DIFFER)
              if k in old or k in _FIXED]
    if differ:
        raise StudyMismatch(f"{path} was started with other settings ({'; '.join(differ)}); "
                            "use the same settings to resume, or --out DIR for a new study")


def _one_device(metrics: dict[str, dict[int, dict[str, Any]]]) -> tuple[Any, Any]:
    """(device, mixed precision) shared by all runs; StudyMismatch when the runs come from several."""
    where: dict[tuple, list[str]] = {}
    for variant, runs in metrics.items():
        for seed, m in runs.items():
            ident = m.get("identity") or {}
            key = (ident.get("device", str(m.get("device", "")).split(":")[0]),
                   ident.get("mixed_precision", m.get("mixed_precision")))
            where.setdefault(key, []).append(f"{variant}-seed{seed}")
    if len(where) > 1:
        said = "; ".join(f"{', '.join(runs)} on {dev} (mixed precision {amp})" for (dev, amp), runs in where.items())
        raise StudyMismatch(f"the study's runs come from different devices ({said}); a paired comparison needs "
                            "one: delete the odd runs' folders and resume on the device of the others")
    if not where:
        return None, None
    first = next(m for runs in metrics.values() for m in runs.values())
    return first.get("device"), next(iter(where))[1]


def _finished(run_dir: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics of the finished run in ``run_dir`` (None: to train or continue); a run of other settings refused."""
    done = run_dir / "metrics.json"
    m = json.loads(done.read_text()) if done.exists() else None
    if m is None or not isinstance(m.get("identity"), dict):
        return None  # nothing finished, or a run from before identities: train(resume=True) checks its checkpoint
    diffs = differences(m["identity"], wanted, STUDY_MAY_DIFFER)
    if diffs:
        there, asked = describe(diffs)
        raise StudyMismatch(f"{run_dir} holds a run trained with {there}, but this study asks for {asked}; "
                            "delete that folder to train it again, or --out DIR for a new study")
    return m if m.get("epochs") == wanted["epochs"] else None


def run_study(config: StudyConfig, *, say: Callable[[str], None] | None = None,
              train_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train every (seed, variant) run of ``config`` through the training engine; return the summary.

    ``train_kwargs`` go to ``klif_edu.training.train`` (e.g. ``train_set``/``test_set``/``spec``
    for your own data). A finished run (its metrics.json) is read back, an unfinished one
    resumes from its checkpoint; Ctrl-C keeps every finished epoch.
    """
    from .data import get_spec
    from .training import TrainConfig, train

    config.check()
    say = say or (lambda text: None)
    out = config.out_dir
    summary_path = out / "study.json"
    _check_resume(config, summary_path)
    metrics: dict[str, dict[int, dict[str, Any]]] = {}
    wall = 0.0
    write_json_atomic(summarize(config, metrics, wall), summary_path)  # the settings, before any run
    spec = (train_kwargs or {}).get("spec") or get_spec(config.dataset)
    for seed in config.seed_list:
        for variant in config.variants:
            run_dir = out / "runs" / f"{variant}-seed{seed}"
            tc = TrainConfig(
                dataset=config.dataset, neuron=variant, arch=config.arch, epochs=config.epochs,
                time_steps=config.time_steps, batch_size=config.batch_size, lr=config.lr,
                loss=config.loss, device=config.device, data_dir=config.data_dir, out=str(run_dir),
                limit_train=config.limit_train, limit_test=config.limit_test, seed=seed,
                resume=True, backend=config.backend, progress=False, verbose=False,
            )
            m = _finished(run_dir, identity_of_config(tc, spec))
            if m is None:
                say(f"study: {variant}, seed {seed} ({run_dir})")
                m = train(tc, **(train_kwargs or {}), may_differ=tuple(STUDY_MAY_DIFFER)).metrics
                say(f"study: {variant}, seed {seed}: test accuracy {m['test_accuracy']:.4f} "
                    f"({m['wall_time_s']:.0f} s)")
            metrics.setdefault(variant, {})[seed] = m
            wall += float(m.get("wall_time_s") or 0.0)
            write_json_atomic(summarize(config, metrics, wall), summary_path)
    return summarize(config, metrics, wall)


# --- reporting --------------------------------------------------------------------------------
def _pp(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.2f}"


def report(summary: dict[str, Any]) -> str:
    """A few lines of text: each variant's mean +/- sd, each comparison's mean and 95 % interval."""
    lines = []
    for v, d in summary["variants"].items():
        if d["mean"] is not None:
            sd = "n/a" if d["sd"] is None else f"{100 * d['sd']:.2f}"
            lines.append(f"{v:>10}: {100 * d['mean']:.2f} % +/- {sd} (mean +/- sd over {len(d['seeds'])} seeds)")
    for name, c in summary["comparisons"].items():
        ci = "n/a" if c["low"] is None else f"[{_pp(c['low'])}, {_pp(c['high'])}]"
        lines.append(f"{name:>20}: {_pp(c['mean'])} points, 95 % CI {ci} (paired t, n = {c['n']})")
    return "\n".join(lines)


def save_figure(summary: dict[str, Any], path: str | os.PathLike) -> Path:
    """Draw ``plotting.study.plot_study`` into a PNG at ``path`` (written atomically)."""
    import matplotlib.pyplot as plt

    from .files import atomic_open
    from .plotting.study import plot_study

    fig = plot_study(summary)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def load_summary(path: str | os.PathLike) -> dict[str, Any]:
    """Read a study.json (as ``run_study`` writes it); ValueError if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the study summary {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != "klif-edu-study":
        raise ValueError(f"{path} is not a klif-edu study summary (written by `klif-edu study`)")
    return data


def committed_study(path: Path = COMMITTED) -> dict[str, Any] | None:
    """A real Fashion-MNIST study committed under results/ (``COMMITTED``, ``COMMITTED_LONGER``
    or ``COMMITTED_PEERS``), as
    shipped with klif-edu (the installed package's copy, or the checkout's); None when it is missing."""
    from .resources import ResourceMissing, resource_path

    try:
        found = resource_path("results", Path(path).name)
    except ResourceMissing:
        return None
    return load_summary(found)
