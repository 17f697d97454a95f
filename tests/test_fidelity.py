"""Fidelity to the reference setup: PLIF's detach_reset, SpikingJelly's CIFAR10-DVS split and frames."""
import json
import math

import numpy as np
import pytest
import torch

from klif_edu.checkpoint import CheckpointError
from klif_edu.data import events_to_frames
from klif_edu.data.events import DVS_SPLITS, cifar10_dvs_split
from klif_edu.models import build_model

EVENT = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])


def random_events(n, w=7, h=5, seed=0):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT)
    ev["x"], ev["y"] = rng.integers(0, w, n), rng.integers(0, h, n)
    ev["t"], ev["p"] = np.sort(rng.integers(0, 10_000, n)), rng.integers(0, 2, n)
    return ev


def by_hand(ev, t, w=7, h=5):
    """SpikingJelly's split_by='number' written out: N // T events per frame, the rest in the last."""
    frames = np.zeros((t, 2, h, w), dtype=np.int64)
    step = len(ev) // t
    for i, e in enumerate(ev):
        j = min(i // step, t - 1) if step else t - 1
        frames[j, int(e["p"] != 0), e["y"], e["x"]] += 1
    return frames


@pytest.mark.parametrize("n, t", [(103, 10), (100, 10), (7, 10), (1, 3), (25, 4)])
def test_frames_by_number_give_the_remainder_to_the_last_frame(n, t):
    ev = random_events(n)
    frames = events_to_frames(ev, (7, 5, 2), t)
    assert frames.dtype == np.int16 and frames.shape == (t, 2, 5, 7)
    assert frames.sum() == n  # no event dropped (tonic's n_event_bins drops n mod t of them)
    assert np.array_equal(frames, by_hand(ev, t))


@pytest.mark.parametrize("n, t", [(103, 10), (7, 10), (40, 4)])
def test_frames_by_number_equal_spikingjellys(n, t):
    utils = pytest.importorskip("spikingjelly.datasets.utils")
    ev = random_events(n, seed=n)
    theirs = utils.integrate_events_by_fixed_frames_number(
        {key: ev[key] for key in ("t", "x", "y", "p")}, "number", t, 5, 7)
    assert np.array_equal(events_to_frames(ev, (7, 5, 2), t), theirs)


def test_cifar10_dvs_default_split_is_spikingjellys():
    """First ceil(0.9 n) of each class in file order train, as split_to_train_test_set(0.9, random_split=False)."""
    targets = [0] * 30 + [1] * 21 + [2] * 10 + [0] * 3  # a class need not be contiguous
    train, test = cifar10_dvs_split(targets, "train"), cifar10_dvs_split(targets, "test")
    assert DVS_SPLITS[0] == "spikingjelly"
    expected_train = list(range(0, 30)) + list(range(30, 49)) + list(range(51, 60))  # 30 of 33, 19 of 21, 9 of 10
    assert train == expected_train and sorted(train + test) == list(range(64))
    assert test == [49, 50, 60, 61, 62, 63]
    utils = pytest.importorskip("spikingjelly.datasets.utils")
    sj_train, sj_test = utils._split_class_indices(
        [[i for i, y in enumerate(targets) if y == c] for c in range(3)], 0.9, False)
    assert train == sorted(sj_train) and test == sorted(sj_test)
    with pytest.raises(ValueError, match="spikingjelly"):
        cifar10_dvs_split(targets, "train", method="first")


def test_paper_networks_detach_the_reset_by_default():
    paper = build_model("fashion-mnist", "klif", "paper")
    assert all(n.detach_reset for n in paper.neurons().values())
    assert not any(n.detach_reset for n in build_model("fashion-mnist", "klif", "small").neurons().values())
    own = build_model("fashion-mnist", "lif", "paper", detach_reset=False)
    assert not any(n.detach_reset for n in own.neurons().values())
    from klif_edu import KLIF
    assert KLIF().detach_reset is False  # the neuron's own default stays SpikingJelly's


def test_metrics_record_detach_reset_and_split(tmp_path):
    from test_training import run

    r = run(tmp_path, arch="paper", n=4, batch_size=4, time_steps=1)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["detach_reset"] is True and saved["dvs_split"] is None  # not CIFAR10-DVS
    assert r.metrics["detach_reset"] is True
    r = run(tmp_path, name="small", n=4, batch_size=4)
    assert r.metrics["detach_reset"] is False
    from klif_edu import models

    models.PAPER_DETACH_RESET = False  # as if the default changed between a run and its resume
    try:
        with pytest.raises(CheckpointError, match="detach_reset=True"):
            run(tmp_path, arch="paper", n=4, batch_size=4, time_steps=1, resume=True, epochs=2)
    finally:
        models.PAPER_DETACH_RESET = True
    for split in DVS_SPLITS:
        r = run(tmp_path, name=split, spec_name="cifar10-dvs", n=2, batch_size=2, time_steps=2, dvs_split=split)
        assert json.loads((tmp_path / split / "metrics.json").read_text())["dvs_split"] == split
    with pytest.raises(ValueError, match="dvs_split"):
        run(tmp_path, name="bad", dvs_split="first")
    with pytest.raises(CheckpointError, match="dvs_split='spikingjelly'"):  # resuming on the other split
        run(tmp_path, name="spikingjelly", spec_name="cifar10-dvs", n=2, batch_size=2, time_steps=2,
            dvs_split="random", resume=True, epochs=2)


def test_cli_takes_the_dvs_split(capsys):
    from klif_edu.cli import build_parser, main

    args = build_parser().parse_args(["train", "--dataset", "cifar10-dvs", "--neuron", "klif", "--dvs-split", "random"])
    assert args.dvs_split == "random"
    assert build_parser().parse_args(["train", "--dataset", "x", "--neuron", "lif"]).dvs_split == "spikingjelly"
    assert main(["train", "--dataset", "cifar10-dvs", "--neuron", "klif", "--dvs-split", "first"]) == 2
    assert "invalid choice" in capsys.readouterr().err
