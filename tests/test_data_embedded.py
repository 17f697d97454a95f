"""Embedded offline data: contents, the same frame path as real events, and a deterministic rebuild."""
import importlib.util
import pathlib

import numpy as np
import pytest
import torch

from klif_edu.data import load_dataset
from klif_edu.data.embedded import EVENTS_FILE, IMAGES_FILE, embedded_file
from klif_edu.data.frames import FrameDataset
from klif_edu.data.registry import DEBIAN_FASHION_MNIST
from klif_edu.data.simulate import EVENT_DTYPE, render, saccade_events, saccade_path

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_embedded_data", REPO / "scripts" / "build_embedded_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_embedded_files_are_small():
    sizes = [embedded_file(f).stat().st_size for f in (IMAGES_FILE, EVENTS_FILE)]
    assert sum(sizes) < 5_000_000


@pytest.mark.parametrize("split,n", [("train", 2000), ("test", 500)])
def test_embedded_fashion_mnist_is_class_balanced(split, n, tmp_path):
    ds = load_dataset("embedded-fashion-mnist", split, data_dir=tmp_path)  # found in the repo anyway
    assert len(ds) == n
    assert torch.bincount(ds.targets, minlength=10).tolist() == [n // 10] * 10
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= y < 10


def test_embedded_events_go_through_frames_and_cache(tmp_path):
    ds = load_dataset("embedded-events", "test", data_dir=tmp_path)
    assert isinstance(ds, FrameDataset) and len(ds) == 200
    assert torch.bincount(ds.targets, minlength=10).tolist() == [20] * 10
    x, y = ds[5]
    events, label = ds.source[5]
    assert x.shape == (8, 2, 34, 34) and label == y
    assert events.dtype == EVENT_DTYPE and np.all(np.diff(events["t"]) >= 0)
    assert set(np.unique(events["p"])) == {0, 1}
    assert x.sum() == len(events)     # split by number keeps every event (the remainder in the last frame)
    assert list((tmp_path / "cache" / "embedded-events" / "test").rglob("*.npz"))


def test_limit_and_seed_pick_a_fixed_subset():
    a = load_dataset("embedded-fashion-mnist", "train", limit=50, seed=1)
    b = load_dataset("embedded-fashion-mnist", "train", limit=50, seed=1)
    c = load_dataset("embedded-fashion-mnist", "train", limit=50, seed=2)
    assert len(a) == 50 and a.indices == b.indices and a.indices != c.indices
    assert torch.equal(a[7][0], b[7][0]) and a.targets.tolist() == [a[i][1] for i in range(50)]
    assert a.spec.name == "embedded-fashion-mnist" and a.time_steps == 8 and a.input_shape == (1, 28, 28)
    assert len(load_dataset("embedded-fashion-mnist", "test", limit=10_000)) == 500


def test_saccade_path_is_the_n_mnist_triangle():
    path = saccade_path()
    assert path.shape == (316, 2)
    np.testing.assert_allclose(path[[0, 105, 210, 315]], [[0, 0], [3.5, 7], [7, 0], [0, 0]], atol=1e-12)


def test_simulator_events_follow_log_intensity_changes():
    blank = np.zeros((28, 28), np.uint8)
    assert len(saccade_events(blank)) == 0                 # nothing moves, nothing fires
    square = blank.copy()
    square[10:18, 10:18] = 255
    ev = saccade_events(square)
    assert len(ev) > 0 and set(np.unique(ev["p"])) == {0, 1}
    assert ev["x"].min() >= 0 and ev["x"].max() < 34 and ev["t"].max() <= 315_000
    # third saccade is horizontal: each pixel only brightens (ON events) or only darkens (OFF)
    first = ev[ev["t"] > 210_000]
    now = render(square, saccade_path()[first["t"] // 1000])[np.arange(len(first)), first["y"], first["x"]]
    start = render(square, saccade_path()[210:211])[0][first["y"], first["x"]]
    np.testing.assert_array_equal(first["p"] == 1, now > start)
    assert 0 < first["p"].sum() < len(first)
    with pytest.raises(ValueError, match="uint8"):
        saccade_events(np.zeros((40, 40), np.uint8))


def test_rebuild_script_reproduces_committed_files():
    if not (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("needs Debian's Fashion-MNIST in /usr/share/datasets/fashion-mnist "
                    "(apt install dataset-fashion-mnist)")
    build = load_build_script()
    subset = build.build_images()
    with np.load(embedded_file(IMAGES_FILE)) as committed:
        assert sorted(committed.files) == sorted(subset)
        for key in subset:
            np.testing.assert_array_equal(committed[key], subset[key], err_msg=key)
    with np.load(embedded_file(EVENTS_FILE)) as committed:
        for split in ("train", "test"):
            pick = build.event_image_indices(subset[f"y_{split}"], build.EVENTS_PER_CLASS[split])
            np.testing.assert_array_equal(committed[f"{split}_image_index"], pick)
            np.testing.assert_array_equal(committed[f"{split}_labels"], subset[f"y_{split}"][pick])
            offsets = committed[f"{split}_offsets"]
            # every 25th sample re-simulated (all of them take ~20 s): same events, in order
            for i in range(0, len(pick), 25):
                (ev,) = build.simulate_split(subset[f"x_{split}"][pick[i:i + 1]])
                a, b = offsets[i], offsets[i + 1]
                for field, stored in (("x", "x"), ("y", "y"), ("p", "p")):
                    np.testing.assert_array_equal(committed[f"{split}_{stored}"][a:b], ev[field])
                np.testing.assert_array_equal(committed[f"{split}_t_ms"][a:b], ev["t"] // 1000)
