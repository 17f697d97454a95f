"""Event datasets: tiny files in the raw formats tonic 1.7 reads, loaded through load_dataset."""
import socket
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch

import klif_edu.data.frames as frames_mod
from klif_edu.data import DATASETS, DatasetMissing, events_to_frames, load_dataset
from klif_edu.data.events import cifar10_dvs_split


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(socket.socket, "connect", refuse)


# ---- N-MNIST: 40-bit events (x, y, polarity bit + 23-bit timestamp) in .bin files ----------
def nmnist_bytes(events):
    out = bytearray()
    for x, y, t, p in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def write_nmnist(root, per_digit=1, n_events=40, seed=0):
    """root/NMNIST/{Train,Test}/<digit>/<nnnnn>.bin; returns {(split, digit, i): events}."""
    rng = np.random.default_rng(seed)
    written = {}
    for split in ("Train", "Test"):
        for digit in (0, 3, 7):
            folder = root / "NMNIST" / split / str(digit)
            folder.mkdir(parents=True)
            for i in range(per_digit):
                t = np.sort(rng.integers(0, 300_000, n_events))
                ev = [(int(rng.integers(0, 34)), int(rng.integers(0, 34)), int(tt), int(rng.integers(0, 2)))
                      for tt in t]
                (folder / f"{i:05d}.bin").write_bytes(nmnist_bytes(ev))
                written[(split, digit, i)] = ev
    return written


def test_nmnist_bin_files_to_frames(tmp_path):
    written = write_nmnist(tmp_path, per_digit=2)
    ds = load_dataset("nmnist", "train", data_dir=tmp_path, download=False)
    assert len(ds) == 6 and ds.targets.tolist() == [0, 0, 3, 3, 7, 7]
    x, y = ds[2]
    assert x.shape == (10, 2, 34, 34) and x.dtype == torch.float32 and y == 3
    ev = written[("Train", 3, 0)]
    # split by number: 40 events / 10 frames = 4 events per frame, at the right pixels
    assert x.sum(dim=(1, 2, 3)).tolist() == [4.0] * 10
    counts = np.zeros((2, 34, 34))
    for ex, ey, _, p in ev:
        counts[p, ey, ex] += 1
    np.testing.assert_array_equal(x.sum(0).numpy(), counts)
    x_time, _ = load_dataset("nmnist", "train", data_dir=tmp_path, download=False, binning="time")[2]
    assert x_time.shape == x.shape and not torch.equal(x_time, x)
    assert len(load_dataset("nmnist", "test", data_dir=tmp_path, download=False)) == 6


# ---- CIFAR10-DVS: AEDAT4 files (magic, flatbuffer IOHeader, EVTS event packets) -------------
def _ioheader(description: str) -> bytes:
    text = description.encode() + b"\0"
    body = struct.pack("<I", 16)                                  # root table at 16
    body += struct.pack("<HHHHH", 10, 8, 0, 0, 4) + b"\0\0"       # vtable: only `description` set
    body += struct.pack("<iI", 12, 4)                             # table: vtable offset, string offset
    body += struct.pack("<I", len(text) - 1) + text
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<I", len(body)) + body


def aedat4_bytes(events, width=128, height=128) -> bytes:
    description = ('<dv version="2.0"><node name="outInfo"><node name="0">'
                   '<attr key="typeIdentifier" type="string">EVTS</attr><node name="info">'
                   f'<attr key="sizeX" type="int">{width}</attr><attr key="sizeY" type="int">{height}</attr>'
                   '</node></node></node></dv>')
    elements = b"".join(struct.pack("<qhh?3x", t, x, y, bool(p)) for x, y, t, p in events)
    table = struct.pack("<I", 16) + b"EVTS" + struct.pack("<HHH", 6, 8, 4) + b"\0\0"
    table += struct.pack("<iI", 8, 12) + b"\0" * 8 + struct.pack("<I", len(events)) + elements
    payload = struct.pack("<I", len(table)) + table                # size-prefixed flatbuffer
    return b"#!AER-DAT4.0\r\n" + _ioheader(description) + struct.pack("<II", 0, len(payload)) + payload


def write_cifar10_dvs(root, per_class=10, classes=("airplane", "cat")):
    rng = np.random.default_rng(1)
    for name in classes:
        folder = root / "CIFAR10DVS" / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            ev = [(int(rng.integers(0, 128)), int(rng.integers(0, 128)), 1000 * k, k % 2) for k in range(60)]
            (folder / f"cifar10_{name}_{i}.aedat4").write_bytes(aedat4_bytes(ev))


def test_cifar10_dvs_aedat4_files_with_fixed_9_to_1_split(tmp_path):
    pytest.importorskip("aedat", reason="tonic reads AEDAT4 through the `aedat` package")
    write_cifar10_dvs(tmp_path)
    train = load_dataset("cifar10-dvs", "train", data_dir=tmp_path, download=False)
    test = load_dataset("cifar10-dvs", "test", data_dir=tmp_path, download=False)
    assert (len(train), len(test)) == (18, 2)
    assert sorted(test.targets.tolist()) == [0, 3]        # one test sample per class (airplane, cat)
    assert set(train.source.keys).isdisjoint(test.source.keys)
    x, y = test[0]
    assert x.shape == (20, 2, 128, 128) and x.sum() == 60  # 60 events, 3 per frame
    small, _ = load_dataset("cifar10-dvs", "test", data_dir=tmp_path, download=False, downscale=4)[0]
    assert small.shape == (20, 2, 32, 32) and small.sum() == 60
    assert load_dataset("cifar10-dvs", "test", data_dir=tmp_path, download=False, downscale=4,
                        limit=1).input_shape == (2, 32, 32)


def test_cifar10_dvs_split_is_per_class_disjoint_and_fixed():
    targets = [0] * 30 + [1] * 20 + [2] * 10
    train, test = (cifar10_dvs_split(targets, s, method="random") for s in ("train", "test"))
    assert sorted(train + test) == list(range(60))
    assert [sum(targets[i] == c for i in test) for c in range(3)] == [3, 2, 1]
    assert train == cifar10_dvs_split(targets, "train", method="random")
    assert test != list(range(27, 30)) + list(range(48, 50)) + [59]  # shuffled, not the last 10 %


# ---- DVS128-Gesture (tonic's preprocessed copy): userNN_<light>/<label>.npy, columns x y p t[ms]
def test_dvs_gesture_npy_files(tmp_path):
    rng = np.random.default_rng(2)
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        for user in ("user01_fluorescent", "user02_led"):
            folder = tmp_path / "DVSGesture" / split / user
            folder.mkdir(parents=True)
            for label in (0, 4, 10):
                t = np.sort(rng.integers(0, 6000, 100))
                arr = np.stack([rng.integers(0, 128, 100), rng.integers(0, 128, 100),
                                rng.integers(0, 2, 100), t], axis=1).astype(np.int64)
                np.save(folder / f"{label}.npy", arr)
    ds = load_dataset("dvs-gesture", "test", data_dir=tmp_path, download=False, time_steps=5)
    assert len(ds) == 6 and sorted(ds.targets.tolist()) == [0, 0, 4, 4, 10, 10]
    x, _ = ds[0]
    assert x.shape == (5, 2, 128, 128) and x.sum() == 100
    assert DATASETS["dvs-gesture"].num_classes == 11


# ---- missing data and downloads --------------------------------------------------------------
@pytest.mark.parametrize("name,words", [
    ("nmnist", ["NMNIST", "Train/0..9/*.bin", "garrickorchard"]),
    ("cifar10-dvs", ["CIFAR10DVS", "aedat4", "figshare"]),
    ("dvs-gesture", ["DVSGesture", "ibmGestureTrain.tar.gz"]),
])
def test_missing_event_dataset_message(tmp_path, name, words):
    with pytest.raises(DatasetMissing) as info:
        load_dataset(name, "train", data_dir=tmp_path, download=False)
    assert str(tmp_path) in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_failed_tonic_download_becomes_dataset_missing(tmp_path, monkeypatch):
    import tonic.dataset

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", offline)
    with pytest.raises(DatasetMissing, match="could not be downloaded"):
        load_dataset("nmnist", "train", data_dir=tmp_path, download=True)


# ---- frames and their cache ------------------------------------------------------------------
def test_frame_cache_hit_on_second_access(tmp_path, monkeypatch):
    write_nmnist(tmp_path)
    ds = load_dataset("nmnist", "train", data_dir=tmp_path, download=False)
    first, _ = ds[1]
    assert ds.cache_writes == 1
    cached = list((tmp_path / "cache" / "nmnist" / "train").rglob("*.npz"))
    assert len(cached) == 1 and not list(cached[0].parent.glob("*.tmp"))

    def no_integration(*args, **kwargs):
        raise AssertionError("events were integrated again instead of read from the cache")

    monkeypatch.setattr(frames_mod, "events_to_frames", no_integration)
    again, _ = ds[1]
    fresh, _ = load_dataset("nmnist", "train", data_dir=tmp_path, download=False)[1]  # next epoch
    assert torch.equal(first, again) and torch.equal(first, fresh) and ds.cache_writes == 1


def test_corrupt_cache_file_is_rebuilt(tmp_path):
    write_nmnist(tmp_path)
    ds = load_dataset("nmnist", "train", data_dir=tmp_path, download=False)
    good, _ = ds[0]
    path = next((tmp_path / "cache").rglob("*.npz"))
    path.write_bytes(b"half a file")
    assert torch.equal(ds[0][0], good) and ds.cache_writes == 2


def test_events_to_frames_counts_and_edge_cases():
    dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    ev = np.array([(1, 2, 0, 1), (1, 2, 10, 1), (3, 0, 20, 0), (5, 5, 30, 0)], dtype=dtype)
    f = events_to_frames(ev, (6, 6, 2), 2)
    assert f.shape == (2, 2, 6, 6) and f[0, 1, 2, 1] == 2 and f[1, 0, 0, 3] == 1 and f[1, 0, 5, 5] == 1
    assert events_to_frames(ev[:0], (6, 6, 2), 3).shape == (3, 2, 6, 6)
    half = events_to_frames(ev, (6, 6, 2), 2, downscale=2)
    assert half.shape == (2, 2, 3, 3) and half[0, 1, 1, 0] == 2
    with pytest.raises(ValueError, match="binning"):
        events_to_frames(ev, (6, 6, 2), 2, binning="space")


def test_event_datasets_pickle_for_dataloader_workers(tmp_path):
    import pickle

    write_nmnist(tmp_path)
    ds = load_dataset("nmnist", "test", data_dir=tmp_path, download=False, limit=2)
    copy = pickle.loads(pickle.dumps(ds))
    assert torch.equal(copy[0][0], ds[0][0]) and copy.targets.tolist() == ds.targets.tolist()
