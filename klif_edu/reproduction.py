"""Every run's result in one table, beside what the papers report, and the KLIF-minus-LIF margin.

    rows = collect_runs(["runs"])          # one dict per metrics.json found (recursively)
    table = results_table(rows)            # Markdown: our runs next to the papers' numbers
    pairs = margins(rows)                  # KLIF - LIF test accuracy of runs trained alike
    plot_margins(pairs)

What the papers report. The KLIF paper's results table (Jiang & Zhang 2023, arXiv:2302.09238)
was not available offline, so its numbers are never filled in here: the table says
``KLIF_PAPER_NOTE``. As a labelled reference we give the PLIF paper's LIF accuracies (Fang et
al. 2021, PLIF repository README, LIF with tau = 2 and max pooling, ``PLIF_LIF_REFERENCE``):
same datasets, likely the same networks, but not KLIF's experiments.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any, Iterable

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

__all__ = [
    "KLIF_PAPER_NOTE",
    "KLIF_SHORT",
    "PLIF_LIF_REFERENCE",
    "PLIF_SOURCE",
    "collect_runs",
    "results_table",
    "margins",
    "margins_table",
    "plot_margins",
    "Table",
]

KLIF_PAPER_NOTE = "not available offline; see the paper (arXiv:2302.09238, results table)"
PLIF_SOURCE = "PLIF paper (Fang et al. 2021), repository README: LIF, tau=2, max pooling"
#: Test accuracy (%) of LIF in the PLIF paper; a reference, not KLIF's numbers.
PLIF_LIF_REFERENCE: dict[str, float] = {
    "mnist": 99.69, "fashion-mnist": 94.17, "cifar10": 93.03,
    "nmnist": 99.64, "cifar10-dvs": 73.6, "dvs-gesture": 96.88,
}
_ORDER = ["mnist", "fashion-mnist", "cifar10", "nmnist", "cifar10-dvs", "dvs-gesture"]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def collect_runs(roots: Iterable[str | os.PathLike] | str | os.PathLike = ("runs",)) -> list[dict[str, Any]]:
    """One row per ``metrics.json`` under the roots (searched recursively, each file once).

    A row has the run's ``dataset`` (what it trained on), ``asked_for`` (the dataset a notebook
    asked for, from an ``experiment.json`` in the parent folder, else the dataset), ``mode``
    ("full", "lesson", "test"; "quick" in older runs; "" when unknown), ``neuron``, ``arch``, ``epochs``, ``time_steps``,
    ``train_size``, ``test_accuracy`` (%, or None), ``device``, ``k``, ``path`` and ``identity`` (the
    run's identity without the neuron; rebuilt from the flat fields for runs that predate it).
    An ``experiment.json`` that describes another run (data, seed, epochs, network) is not used.
    Unreadable files are skipped.
    """
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    seen: set[Path] = set()
    rows = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("metrics.json")):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            m = _read(path)
            if m is None or "neuron" not in m or "dataset" not in m:
                continue
            exp = _read(path.parent.parent / "experiment.json") or {}
            if any(key in exp and exp[key] != m.get(mkey) for key, mkey in _SAME_AS_EXPERIMENT):
                exp = {}  # that record describes another run than this one: not this run's mode or dataset
            acc = m.get("test_accuracy")
            rows.append({
                "dataset": m["dataset"], "asked_for": exp.get("dataset", m["dataset"]),
                "mode": exp.get("mode", ""), "neuron": str(m["neuron"]).lower(), "arch": m.get("arch", ""),
                "epochs": m.get("epochs"), "time_steps": m.get("time_steps"), "train_size": m.get("train_size"),
                "test_accuracy": None if acc is None else 100.0 * float(acc), "device": m.get("device", ""),
                "seed": m.get("seed"), "k": m.get("k") or {}, "path": str(path),
                "identity": _identity(m),
            })
    rank = {name: i for i, name in enumerate(_ORDER)}
    rows.sort(key=lambda r: (rank.get(r["asked_for"], len(_ORDER)), r["asked_for"], r["path"]))
    return rows


class Table(str):
    """A Markdown table (plus optional notes below it) that shows as HTML in a notebook (no pandas)."""

    def __new__(cls, header: list[str], body: list[list[str]], notes: list[str] = ()) -> "Table":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        lines += [""] + list(notes) if notes else []
        obj = super().__new__(cls, "\n".join(lines))
        obj.header, obj.body, obj.notes = header, body, list(notes)
        return obj

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.header)
        rows = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.body)
        notes = "".join(f"<p style='font-size:smaller'>{html.escape(n)}</p>" for n in self.notes)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{notes}"


def _trained_on(r: dict[str, Any]) -> str:
    """The dataset a run trained on, marked when it is a stand-in for the one asked for."""
    if r["dataset"] == r["asked_for"]:
        return r["dataset"]
    return f"STAND-IN {r['dataset']}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} %"


KLIF_SHORT = "n/a offline (1)"


def results_table(rows: list[dict[str, Any]]) -> Table:
    """Every run (one line each) with the papers' numbers for its dataset beside it.

    The KLIF paper column reads ``KLIF_SHORT`` with note (1) below the table (``KLIF_PAPER_NOTE``);
    the run column is the run's folder as <experiment>/<neuron>, its full path in ``row["path"]``.
    """
    header = ["dataset (asked for)", "trained on", "mode", "neuron", "network", "epochs", "train images",
              "test accuracy (this run)", "KLIF paper", "LIF, PLIF paper (2)", "run"]
    body = []
    for r in rows:
        ref = PLIF_LIF_REFERENCE.get(r["asked_for"])
        folder = Path(r["path"]).parent
        body.append([r["asked_for"], _trained_on(r), r["mode"] or "?", r["neuron"].upper(), r["arch"],
                     str(r["epochs"]), str(r["train_size"]), _pct(r["test_accuracy"]),
                     KLIF_SHORT if r["asked_for"] in PLIF_LIF_REFERENCE else "-",
                     _pct(ref) if ref is not None else "-", f"{folder.parent.name}/{folder.name}"])
    notes = [f"(1) KLIF paper: {KLIF_PAPER_NOTE}.",
             f"(2) {PLIF_SOURCE}; a reference for LIF on the same dataset, not KLIF's experiments."]
    if any(r["dataset"] != r["asked_for"] for r in rows):
        notes.append("STAND-IN: the dataset asked for was not on disk, so an embedded stand-in trained; "
                     "such a run says nothing about the dataset asked for.")
    return Table(header, body, notes)


#: (experiment.json field, metrics.json field) that must agree for the record to describe the run.
_SAME_AS_EXPERIMENT = (("train_dataset", "dataset"), ("seed", "seed"), ("epochs", "epochs"), ("arch", "arch"))
#: What identifies a run that predates ``metrics["identity"]`` (klif_edu.run_identity): its flat fields.
_FLAT_IDENTITY = ("dataset", "arch", "epochs", "time_steps", "train_size", "seed", "lr", "batch_size", "loss",
                  "backend", "detach_reset", "dvs_split", "mixed_precision")


def _identity(m: dict[str, Any]) -> dict[str, Any]:
    """The run's identity without its neuron: recorded (``identity``), else rebuilt from the flat fields."""
    if isinstance(m.get("identity"), dict):
        return {k: v for k, v in m["identity"].items() if k != "neuron"}
    flat = {k: m.get(k) for k in _FLAT_IDENTITY}
    return {**flat, "device": str(m.get("device") or "").split(":")[0]}


def _key(r: dict[str, Any]) -> tuple:
    """Runs with the same key were trained alike (one identity but the neuron, one folder of runs)."""
    return (r["asked_for"], r["mode"], json.dumps(r["identity"], sort_keys=True), str(Path(r["path"]).parent.parent))


def margins(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """KLIF minus LIF test accuracy (percentage points) for every KLIF/LIF pair trained alike.

    A pair: same folder of runs (e.g. ``runs/mnist-lesson/{klif,lif}``), mode, and the whole run
    identity but the neuron (``klif_edu.run_identity``: data, network, budget, seed, device, ...).
    """
    groups: dict[tuple, dict[str, dict[str, Any]]] = {}
    for r in rows:
        if r["test_accuracy"] is not None:
            groups.setdefault(_key(r), {})[r["neuron"]] = r
    out = []
    for key, pair in groups.items():
        if "klif" in pair and "lif" in pair:
            klif, lif = pair["klif"], pair["lif"]
            out.append({"asked_for": klif["asked_for"], "dataset": klif["dataset"], "mode": klif["mode"],
                        "stand_in": klif["dataset"] != klif["asked_for"],
                        "arch": klif["arch"], "epochs": klif["epochs"], "klif": klif["test_accuracy"],
                        "lif": lif["test_accuracy"], "margin": klif["test_accuracy"] - lif["test_accuracy"],
                        "folder": key[-1]})
    return out


def margins_table(pairs: list[dict[str, Any]]) -> Table:
    """The pairs of ``margins`` as a table."""
    header = ["dataset (asked for)", "trained on", "mode", "network", "epochs", "KLIF", "LIF", "KLIF - LIF (points)"]
    body = [[p["asked_for"], _trained_on(p), p["mode"] or "?", p["arch"], str(p["epochs"]), _pct(p["klif"]), _pct(p["lif"]),
             f"{p['margin']:+.2f}"] for p in pairs]
    return Table(header, body)


def plot_margins(pairs: list[dict[str, Any]], ax: Axes | None = None) -> Axes:
    """One bar per KLIF/LIF pair trained on its own dataset: KLIF minus LIF in percentage points.

    Stand-in pairs (trained on embedded data instead of the dataset asked for) are never drawn
    as that dataset's result: they are left out, and the title says how many.
    """
    real = [p for p in pairs if not p.get("stand_in", p["dataset"] != p["asked_for"])]
    left_out = len(pairs) - len(real)
    pairs = real
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(pairs) + 2), 3.4), layout="constrained")
    if not pairs:
        ax.text(0.5, 0.5, "no KLIF/LIF pair trained on its own dataset yet"
                + (f"\n({left_out} stand-in pair(s) left out: see the table)" if left_out else ""),
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    labels = [f"{p['asked_for']}\n({p['mode'] or '?'}, {p['arch']})" for p in pairs]
    values = [p["margin"] for p in pairs]
    colours = ["#008080" if v >= 0 else "#7b3294" for v in values]
    bars = ax.bar(range(len(pairs)), values, color=colours)
    ax.bar_label(bars, fmt="%+.1f", fontsize="small", padding=2)
    ax.axhline(0.0, color="0.3", lw=1)
    ax.set_xticks(range(len(pairs)), labels, fontsize="small")
    ax.set(ylabel="KLIF - LIF (accuracy points)", title="KLIF minus LIF test accuracy, runs found here"
           + (f" ({left_out} stand-in pair(s) left out)" if left_out else ""))
    ax.margins(y=0.25)
    return ax
