"""Fault injection: `train` and `study` interrupted at many seeded random points resume to the same numbers.

An interruption is a KeyboardInterrupt raised at the N-th call of any of the functions in
``POINTS`` (a training step, a checkpoint or record write, the clean-up of a run started over;
``torch.save`` is cut off half-way through writing its file), before or after the real call.
After each one the readers (the run's own files, ``finished_run`` as the notebooks use it, the
reproduction table, the study summary) must report nothing under settings it was not trained
with; then the run is continued as a user would (the same call with resume, or starting over
when the refusal says so) and must end with the uninterrupted run's numbers to the last bit:
weights, optimizer and GradScaler state, history, accuracies and k.
"""
from __future__ import annotations

import json
import random
import shutil
from contextlib import contextmanager

import pytest
import torch

from klif_edu import checkpoint, run_identity, study, training
from klif_edu import history as hist
from klif_edu.checkpoint import CheckpointError, load_checkpoint
from klif_edu.reproduction import collect_runs
from klif_edu.run_identity import finished_run
from klif_edu.study import StudyConfig, load_summary, run_study
from klif_edu.training import TrainConfig, train

from test_training import TOY, fake_set

DATA = {"train_set": fake_set(TOY, 16), "test_set": fake_set(TOY, 8, seed=1), "spec": TOY}
TRAIN_POINTS, STUDY_POINTS = 24, 8
pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

#: Where an interruption can land: (module, function) pairs, one call counter across all of them.
POINTS = [(training, "train_step"), (training, "save_checkpoint"), (training, "write_json_atomic"),
          (hist, "save"), (hist, "save_csv"), (checkpoint, "_replace_with_copy"), (run_identity, "_remove"),
          (study, "write_json_atomic"), (torch, "save")]


class Faults:
    """Counts calls of the POINTS; raises KeyboardInterrupt at call ``at`` (None: only counts)."""

    def __init__(self, at: int | None = None, before: bool = True):
        self.at, self.before, self.calls, self.fired = at, before, 0, False

    def wrap(self, name, real):
        def call(*args, **kwargs):
            self.calls += 1
            if self.calls != self.at:
                return real(*args, **kwargs)
            self.fired = True
            if name == "save" and len(args) > 1 and hasattr(args[1], "write"):  # torch.save: cut off mid-file
                args[1].write(b"PK\x03\x04 half a checkpoint")
            elif not self.before:
                real(*args, **kwargs)
            raise KeyboardInterrupt
        return call


@contextmanager
def injected(faults: Faults):
    mp = pytest.MonkeyPatch()
    try:
        for module, name in POINTS:
            mp.setattr(module, name, faults.wrap(name, getattr(module, name)))
        yield faults
    finally:
        mp.undo()


def _config(out, seed, **kw):
    return TrainConfig(dataset="toy", epochs=2, batch_size=8, seed=seed, out=str(out), verbose=False,
                       progress=False, log_every=1, **kw)


def _rows(history):
    return [{k: v for k, v in row.items() if k != "wall_time"} for row in history["epochs"]], history["steps"]


def _same_state(a, b):
    """Two nested state dicts (model, optimizer, scaler) are equal to the last bit."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    return a == b


def _reference(tmp_path, seed, amp):
    r = train(_config(tmp_path / f"ref-{seed}-{amp}", seed), **DATA)
    return {"metrics": r.metrics, "history": _rows(r.history), "ckpt": load_checkpoint(r.out / "checkpoint.pt")}


def _readers_tell_the_truth(folder, refs, root):
    """Whatever is on disk now is reported only under the settings that produced it."""
    by_seed = {ref["metrics"]["seed"]: ref for ref in refs}
    if (folder / "metrics.json").exists():
        m = json.loads((folder / "metrics.json").read_text())
        ref = by_seed[m["identity"]["seed"]]
        assert m["test_accuracy"] == ref["metrics"]["test_accuracy"] and m["k"] == ref["metrics"]["k"]
    for row in collect_runs(root):
        if row["path"] == str(folder / "metrics.json"):
            assert row["test_accuracy"] == 100.0 * by_seed[row["seed"]]["metrics"]["test_accuracy"]
    for seed, ref in by_seed.items():  # as the notebooks' pickup of a finished run asks
        found = finished_run(folder, ref["metrics"]["identity"])
        assert found is None or found["test_accuracy"] == ref["metrics"]["test_accuracy"]
    try:
        state = load_checkpoint(folder / "checkpoint.pt")
    except (FileNotFoundError, CheckpointError):
        return
    ref = by_seed[state["identity"]["seed"]]
    rows, steps = _rows(state["history"])
    assert rows == ref["history"][0][: len(rows)] and steps == ref["history"][1][: len(steps)]


def _continue(folder, seed, faults=None):
    """The user's next move: the same call with resume; starting over when the refusal says so."""
    try:
        with injected(faults or Faults()):
            return train(_config(folder, seed, resume=True), **DATA)
    except run_identity.RunMismatch as err:
        assert "--overwrite" in str(err)
        return train(_config(folder, seed, overwrite=True), **DATA)


def test_train_interrupted_anywhere_resumes_to_the_same_run(tmp_path, monkeypatch, capsys):
    rng = random.Random(16)
    fired = 0
    for amp in (False, True):  # True: a GradScaler in use (simulated on the CPU), its state must survive
        monkeypatch.setattr(training, "_mixed_precision", lambda config, device, amp=amp: amp)
        old, new = _reference(tmp_path, 0, amp), _reference(tmp_path, 1, amp)
        template = tmp_path / f"template-{amp}"
        shutil.copytree(tmp_path / f"ref-0-{amp}", template)  # run A (seed 0) finished in the folder
        counted = Faults()
        with injected(counted):  # run B (seed 1) started over in A's folder, uninterrupted: how many calls
            train(_config(tmp_path / f"count-{amp}", 1, overwrite=True), **DATA)
        for trial in range(TRAIN_POINTS // 2):
            folder = tmp_path / f"t{amp}-{trial}" / "run"
            shutil.copytree(template, folder)
            first = Faults(rng.randint(1, counted.calls), before=rng.random() < 0.5)
            with pytest.raises(KeyboardInterrupt), injected(first):
                train(_config(folder, 1, overwrite=True), **DATA)
            fired += first.fired
            _readers_tell_the_truth(folder, [old, new], folder.parent)
            second = Faults(rng.randint(1, 12), before=rng.random() < 0.5) if rng.random() < 0.5 else None
            try:
                result = _continue(folder, 1, second)
            except KeyboardInterrupt:  # interrupted again while resuming
                fired += 1
                _readers_tell_the_truth(folder, [old, new], folder.parent)
                result = _continue(folder, 1)
            assert result.metrics["test_accuracy"] == new["metrics"]["test_accuracy"]
            assert result.metrics["k"] == new["metrics"]["k"] and result.metrics["identity"] == new["metrics"]["identity"]
            assert _rows(result.history) == new["history"]
            final = load_checkpoint(folder / "checkpoint.pt")
            for part in ("model", "optimizer", "scaler"):
                assert _same_state(final[part], new["ckpt"][part]), (trial, part)
            if amp:
                assert final["scaler"]["_growth_tracker"] == 4  # 2 epochs x 2 steps, none lost or redone twice
            _readers_tell_the_truth(folder, [old, new], folder.parent)
    with capsys.disabled():
        print(f"\n  train: {fired} interruptions at seeded random points, each resumed to the same run")
    assert fired >= TRAIN_POINTS


def test_study_interrupted_anywhere_resumes_to_the_same_summary(tmp_path, capsys):
    rng = random.Random(61)

    def config(out, resume=False):
        return StudyConfig(dataset="toy", variants=("klif", "lif"), seeds=2, epochs=2, batch_size=8, device="cpu",
                           out=str(out), resume=resume)

    counted = Faults()
    with injected(counted):
        whole = run_study(config(tmp_path / "whole"), train_kwargs=DATA)
    accuracy = {v: dict(zip(d["seeds"], d["test_accuracy"])) for v, d in whole["variants"].items()}
    fired = 0
    for trial in range(STUDY_POINTS):
        out = tmp_path / f"s{trial}"
        faults = Faults(rng.randint(1, counted.calls), before=rng.random() < 0.5)
        with pytest.raises(KeyboardInterrupt), injected(faults):
            run_study(config(out), train_kwargs=DATA)
        fired += faults.fired
        if (out / "study.json").exists():  # what the summary says so far is true
            half = load_summary(out / "study.json")
            for v, d in half["variants"].items():
                assert all(accuracy[v][s] == a for s, a in zip(d["seeds"], d["test_accuracy"]))
        for metrics in (out / "runs").glob("*/metrics.json"):
            m = json.loads(metrics.read_text())
            assert m["test_accuracy"] == accuracy[m["neuron"]][m["seed"]]
            assert f"{m['identity']['neuron']}-seed{m['identity']['seed']}" == metrics.parent.name
        resumed = run_study(config(out, resume=True), train_kwargs=DATA)
        assert resumed["complete"] and resumed["variants"] == {
            v: {**d, "wall_time_s": resumed["variants"][v]["wall_time_s"]} for v, d in whole["variants"].items()}
        assert resumed["comparisons"] == whole["comparisons"]
    with capsys.disabled():
        print(f"  study: {fired} interruptions at seeded random points, each resumed to the same summary")
    assert fired == STUDY_POINTS
