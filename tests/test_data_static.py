"""Static datasets: tiny files in torchvision's real on-disk formats, loaded through load_dataset."""
import gzip
import hashlib
import pickle
import socket
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch

import klif_edu.data.static as static
from klif_edu.data import DATASETS, DatasetMissing, dataset_status, load_dataset


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def no_debian(monkeypatch, tmp_path):
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-here")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist_like(folder, n_train=12, n_test=6, seed=0, gz=False):
    """The four IDX files (uint8 images [n, 28, 28], labels [n]); returns the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            data = idx_bytes(arr)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST/raw"), ("fashion-mnist", "FashionMNIST/raw")])
def test_idx_files_load_normalised(tmp_path, no_debian, name, folder):
    arrays = write_mnist_like(tmp_path / folder)
    train = load_dataset(name, "train", data_dir=tmp_path, download=False)
    test = load_dataset(name, "test", data_dir=tmp_path, download=False)
    assert (len(train), len(test)) == (12, 6)
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    (mean,), (std,) = static.NORMALISATION[name]
    expected = (torch.from_numpy(arrays["train"][0][3]).float() / 255 - mean) / std
    torch.testing.assert_close(x[0], expected)
    assert y == int(arrays["train"][1][3])
    assert train.spec is DATASETS[name] and train.time_steps == 8
    torch.testing.assert_close(train.unnormalise(x)[0] * 255, torch.from_numpy(arrays["train"][0][3]).float(),
                               atol=1e-3, rtol=0)


def test_time_steps_argument_is_recorded(tmp_path, no_debian):
    write_mnist_like(tmp_path / "MNIST/raw")
    assert load_dataset("mnist", data_dir=tmp_path, download=False, time_steps=4).time_steps == 4


def write_cifar(root, per_batch=4, seed=0):
    """cifar-10-batches-py with five train batches, a test batch and batches.meta (pickles)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "labels": labels, "data": data, "filenames": []}, f)
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(DATASETS["cifar10"].class_names)}, f)
    return folder, batches


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar10_pickled_batches_pass_torchvision_md5_checks(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    folder, batches = write_cifar(tmp_path)
    # torchvision checks every batch against the real files' md5: point it at our tiny files
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")]
                                                    for i in range(1, 6)])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                              "md5": md5(folder / "batches.meta")})
    train = load_dataset("cifar10", "train", data_dir=tmp_path, download=False)
    test = load_dataset("cifar10", "test", data_dir=tmp_path, download=False)
    assert (len(train), len(test)) == (20, 4)
    x, y = test[1]
    data, labels = batches["test_batch"]
    raw = torch.from_numpy(data[1].reshape(3, 32, 32)).float() / 255
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in static.NORMALISATION["cifar10"])
    torch.testing.assert_close(x, (raw - mean) / std)
    assert y == labels[1]

    # a corrupted batch fails torchvision's md5 check: a clear DatasetMissing, not a stack trace
    (folder / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DatasetMissing, match="cifar-10-batches-py"):
        load_dataset("cifar10", "train", data_dir=tmp_path, download=False)


def test_debian_fashion_mnist_is_unzipped_into_torchvision_raw_folder(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    arrays = write_mnist_like(debian, gz=True, seed=3)
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", debian)
    root = tmp_path / "root"
    ds = load_dataset("fashion-mnist", "test", data_dir=root, download=False)
    assert len(ds) == 6
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), arrays["t10k"][0])
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(static._IDX_FILES)  # no temp files left


def test_debian_fashion_mnist_read_in_memory_when_root_is_read_only(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    arrays = write_mnist_like(debian, gz=True, seed=4)
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", debian)
    monkeypatch.setattr(static, "is_writable", lambda path: False)
    ds = load_dataset("fashion-mnist", "train", data_dir=tmp_path / "ro", download=False)
    np.testing.assert_array_equal(ds.targets.numpy(), arrays["train"][1])
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), arrays["train"][0])
    assert not (tmp_path / "ro").exists()  # read, never written


def test_original_gz_files_in_a_read_only_share_count_and_load(tmp_path, monkeypatch, no_debian):
    share = tmp_path / "share"
    arrays = write_mnist_like(share / "MNIST" / "raw", gz=True, seed=5)
    before = sorted(p.name for p in (share / "MNIST" / "raw").iterdir())
    monkeypatch.setattr(static, "is_writable", lambda path: False)
    assert next(r for r in dataset_status(share) if r["name"] == "mnist")["present"]
    ds = load_dataset("mnist", "test", data_dir=share, download=True)
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), arrays["t10k"][0])
    assert sorted(p.name for p in (share / "MNIST" / "raw").iterdir()) == before  # nothing written
    monkeypatch.setattr(static, "is_writable", lambda path: True)  # a writable folder: unzipped beside them
    load_dataset("mnist", "train", data_dir=share, download=False)
    assert (share / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


@pytest.mark.parametrize("name,files", [
    ("mnist", ["MNIST", "raw", "train-images-idx3-ubyte", "ossci-datasets"]),
    ("fashion-mnist", ["FashionMNIST", "t10k-labels-idx1-ubyte", "dataset-fashion-mnist"]),
    ("cifar10", ["cifar-10-batches-py", "data_batch_1", "batches.meta", "cifar-10-python.tar.gz"]),
])
def test_missing_without_download_names_files_and_folder(tmp_path, no_debian, name, files):
    with pytest.raises(DatasetMissing) as info:
        load_dataset(name, "train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    for word in files:
        assert word in message
    assert len(message) < 600


@pytest.mark.parametrize("name,module", [("mnist", "mnist"), ("cifar10", "cifar")])
def test_failed_download_becomes_dataset_missing(tmp_path, no_debian, monkeypatch, name, module):
    import importlib

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(importlib.import_module(f"torchvision.datasets.{module}"),
                        "download_and_extract_archive", offline)
    with pytest.raises(DatasetMissing, match="could not be loaded or downloaded"):
        load_dataset(name, "train", data_dir=tmp_path, download=True)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x09\x01\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match="magic"):
        static.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="truncated"):
        static.read_idx(tmp_path / "short")
