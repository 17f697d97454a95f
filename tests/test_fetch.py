"""fetch: small files in the real formats served from file:// URLs, sockets blocked throughout.

Every test here runs with the network switched off (any socket connect raises at once), so a
code path that would wait for a server fails loudly instead of hanging.
"""
import gzip
import hashlib
import importlib
import io
import pickle
import socket
import tarfile
import time
import zipfile

import numpy as np
import pytest

import klif_edu.data.static as static
from klif_edu.cli import main
from klif_edu.data import DatasetMissing, dataset_status, download_size, fetch, load_dataset
from klif_edu.data.download import download_file
from klif_edu.data.fetch import Resource

fetch_mod = importlib.import_module("klif_edu.data.fetch")  # the module (klif_edu.data.fetch is the function)
download_mod = importlib.import_module("klif_edu.data.download")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network blocked in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _mnist_server(folder, n=12):
    """The four MNIST gz IDX files (n tiny images each) and their Resources as file:// URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte.gz": rng.integers(0, 255, (n, 28, 28)),
             "train-labels-idx1-ubyte.gz": np.arange(n) % 10,
             "t10k-images-idx3-ubyte.gz": rng.integers(0, 255, (n // 2, 28, 28)),
             "t10k-labels-idx1-ubyte.gz": np.arange(n // 2) % 10}
    out = []
    for name, array in files.items():
        (folder / name).write_bytes(_idx(array))
        out.append(Resource((f"file://{folder}/",), name, _md5(folder / name), "MNIST/raw", "MNIST/raw"))
    return [Resource(tuple(u + r.filename for u in r.urls), r.filename, r.md5, r.folder, r.extract_to) for r in out]


def test_mnist_in_its_real_format_is_fetched_checked_and_loads(tmp_path, monkeypatch):
    res = _mnist_server(tmp_path / "server")
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    data = tmp_path / "data"
    assert fetch("mnist", data, progress=False) == data
    raw = data / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").is_file() and not list(raw.glob("*.part"))
    assert next(r for r in dataset_status(data) if r["name"] == "mnist")["present"]
    train = load_dataset("mnist", "train", data_dir=data, download=False)
    assert len(train) == 12 and train[0][0].shape == (1, 28, 28)
    # already there: nothing is downloaded again (the server may be gone)
    monkeypatch.setattr(fetch_mod, "resources", lambda name: pytest.fail("fetched twice"))
    assert fetch("mnist", data, progress=False) == data


def test_a_corrupt_download_is_refused_and_removed(tmp_path, monkeypatch):
    res = _mnist_server(tmp_path / "server")
    bad = [Resource(r.urls, r.filename, "0" * 32, r.folder, r.extract_to) for r in res]
    monkeypatch.setattr(fetch_mod, "resources", lambda name: bad)
    with pytest.raises(DatasetMissing, match="does not match its MD5 checksum") as err:
        fetch("mnist", tmp_path / "data", progress=False)
    assert "To fix" in str(err.value)
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert not list(raw.glob("*.gz")) and not list(raw.glob("*.part"))


def test_no_network_fails_fast_with_what_to_do(tmp_path):
    tic = time.perf_counter()
    with pytest.raises(DatasetMissing) as err:
        fetch("mnist", tmp_path, progress=False)  # torchvision's real mirrors, sockets blocked
    assert time.perf_counter() - tic < 10
    text = str(err.value)
    assert "mnist" in text and "klif-edu fetch mnist" in text and "MNIST/raw" in text


def test_an_interrupted_download_restarts_when_the_server_cannot_continue(tmp_path, monkeypatch):
    res = _mnist_server(tmp_path / "server")
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz.part").write_bytes(b"half a file from last time")
    fetch("mnist", tmp_path / "data", progress=False)  # file:// answers 200, not 206: start again
    assert _md5(raw / "train-images-idx3-ubyte.gz") == res[0].md5


class _Partial(io.BytesIO):
    """A response to a Range request: status 206 and the bytes after the offset."""

    status = 206

    def __init__(self, data):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_interrupted_download_continues_with_a_range_request(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 40
    seen = []

    def server(request, timeout):
        seen.append((request.get_header("Range"), timeout))
        start = int(request.get_header("Range").split("=")[1].rstrip("-"))
        return _Partial(payload[start:])

    monkeypatch.setattr(download_mod.urllib.request, "urlopen", server)
    target = tmp_path / "blob.bin"
    (tmp_path / "blob.bin.part").write_bytes(payload[:1000])
    download_file("https://example.invalid/blob.bin", target, progress=False, timeout=5)
    assert target.read_bytes() == payload and not (tmp_path / "blob.bin.part").exists()
    assert seen == [("bytes=1000-", 5)]


def _cifar_tar(folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                     "test_batch", "batches.meta"):
            blob = pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return [Resource((f"file://{path}",), path.name, _md5(path), ".", ".")]


def test_cifar10_archive_is_extracted_all_or_nothing(tmp_path, monkeypatch):
    res = _cifar_tar(tmp_path / "server")
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    data = tmp_path / "data"
    (data / ".cifar-10-python.tar.gz.partial" / "junk").mkdir(parents=True)  # an extraction cut short
    fetch("cifar10", data, progress=False)
    assert (data / "cifar-10-batches-py" / "test_batch").is_file()
    assert not (data / ".cifar-10-python.tar.gz.partial").exists()
    assert next(r for r in dataset_status(data) if r["name"] == "cifar10")["present"]


def test_nmnist_zips_land_where_tonic_reads_them(tmp_path, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    res = []
    for split, folder in (("train", "Train"), ("test", "Test")):
        path = server / f"{split}.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(f"{folder}/3/00001.bin", bytes(5 * 4))  # one event file in N-MNIST's 40-bit format
        res.append(Resource((f"file://{path}",), path.name, _md5(path), "NMNIST", "NMNIST"))
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    fetch("nmnist", tmp_path / "data", progress=False)
    assert (tmp_path / "data" / "NMNIST" / "Train" / "3" / "00001.bin").is_file()
    assert next(r for r in dataset_status(tmp_path / "data") if r["name"] == "nmnist")["present"]


def test_sizes_and_the_command_line(tmp_path, capsys):
    assert download_size("cifar10") == 170_498_071 and download_size("embedded-events") == 0
    assert fetch("embedded-events", tmp_path) == tmp_path  # ships with the repository: nothing to do
    assert main(["fetch", "nope"]) == 2 and "unknown dataset" in capsys.readouterr().err
    assert main(["fetch", "mnist", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not fetched: mnist" in err and "Traceback" not in err
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "download" in out.splitlines()[0] and "162.6 MB" in out and "klif-edu fetch cifar10" in out


# --- safe extraction ------------------------------------------------------------------------------
def _evil_tar(folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ("cifar-10-batches-py/data_batch_1", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return [Resource((f"file://{path}",), path.name, _md5(path), ".", ".")]


def test_a_tar_member_outside_the_data_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_mod, "resources", lambda name: _evil_tar(tmp_path / "server"))
    data = tmp_path / "data"
    with pytest.raises(DatasetMissing, match=r"'\.\./escaped\.txt' would land outside"):
        fetch("cifar10", data, progress=False)
    assert not (tmp_path / "escaped.txt").exists() and not (data / "cifar-10-batches-py").exists()
    assert not list(data.glob(".*.partial"))


def test_a_zip_member_outside_the_data_folder_is_refused(tmp_path, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    res = []
    for split in ("train", "test"):
        path = server / f"{split}.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("Train/3/00001.bin", bytes(20))
            z.writestr("../../escaped.bin", b"x")
        res.append(Resource((f"file://{path}",), path.name, _md5(path), "NMNIST", "NMNIST"))
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    with pytest.raises(DatasetMissing, match="would land outside"):
        fetch("nmnist", tmp_path / "data", progress=False)
    assert not list(tmp_path.rglob("escaped.bin")) and not (tmp_path / "data" / "NMNIST" / "Train").exists()


def test_a_marker_that_outlived_its_files_does_not_block_fetch(tmp_path, monkeypatch):
    res = _cifar_tar(tmp_path / "server")
    monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
    data = tmp_path / "data"
    fetch("cifar10", data, progress=False)
    (data / "cifar-10-batches-py" / "test_batch").unlink()  # a student deleted a file; the marker stays
    assert fetch("cifar10", data, progress=False) == data
    assert (data / "cifar-10-batches-py" / "test_batch").is_file()


# --- the data folder asked for is the one filled ----------------------------------------------------
def _fake_debian(folder):
    folder.mkdir(parents=True)
    for f in static._IDX_FILES:
        n = 3
        array = np.zeros((n, 28, 28)) if "images" in f else np.arange(n)
        (folder / f"{f}.gz").write_bytes(_idx(array))


def test_fetch_data_dir_copies_a_system_copy_into_that_folder(tmp_path, monkeypatch, capsys):
    _fake_debian(tmp_path / "debian")
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    monkeypatch.setattr(fetch_mod, "resources", lambda name: pytest.fail("downloaded despite a system copy"))
    share = tmp_path / "share"
    assert main(["fetch", "fashion-mnist", "--data-dir", str(share)]) == 0
    assert f"ready under {share}" in capsys.readouterr().out
    raw = share / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(static._IDX_FILES)
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "gone")  # a student's machine
    row = next(r for r in dataset_status(share) if r["name"] == "fashion-mnist")
    assert row["present"] and row["path"] == str(raw)
    assert len(load_dataset("fashion-mnist", "test", data_dir=share, download=False)) == 3


def test_a_read_only_data_folder_is_never_written(tmp_path, monkeypatch, capsys):
    share = tmp_path / "share"
    share.mkdir()
    monkeypatch.setattr(fetch_mod, "is_writable", lambda path: False)
    monkeypatch.setattr(fetch_mod, "resources", lambda name: pytest.fail("tried to download into it"))
    with pytest.raises(DatasetMissing, match="(?s)read-only.*klif-edu fetch mnist --data-dir"):
        fetch("mnist", share, progress=False)
    assert main(["fetch", "mnist", "--data-dir", str(share)]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "Traceback" not in err
    assert not list(share.iterdir())


def test_a_failed_fetch_all_leaves_no_empty_dataset_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    share = tmp_path / "share"
    assert main(["fetch", "all", "--data-dir", str(share)]) == 2  # no network here
    assert "not fetched" in capsys.readouterr().err
    assert not share.exists() or not [p for p in share.rglob("*")]


@pytest.fixture
def read_only_share(tmp_path, monkeypatch):
    """A data folder on a read-only file system (as root, chmod would not stop us: the OS calls are faked)."""
    import errno
    import os
    import pathlib

    share = tmp_path / "ro-share"
    share.mkdir()
    real_access, real_mkdir = os.access, pathlib.Path.mkdir

    def access(path, mode, *args, **kwargs):
        inside = str(pathlib.Path(path).absolute()).startswith(str(share))
        return False if inside and mode & os.W_OK else real_access(path, mode, *args, **kwargs)

    def mkdir(self, *args, **kwargs):
        if str(self.absolute()).startswith(str(share)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    return share


def test_notebook_first_data_cell_on_a_read_only_share_falls_back_quietly(read_only_share, monkeypatch, capsys):
    from IPython.core.formatters import DisplayFormatter

    from klif_edu.experiment import ensure_dataset, plan_run

    monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)
    monkeypatch.setenv("KLIF_EDU_DATA", str(read_only_share))
    on_disk = ensure_dataset("mnist")  # notebook 05's first data cell: no OSError traceback
    out = capsys.readouterr().out
    assert not on_disk and "read-only" in out and "stand-in trains" in out
    assert DisplayFormatter().format(on_disk) == ({}, {})  # no bare `False` under the cell
    plan = plan_run("mnist", mode="lesson", device="cpu")
    assert plan.stand_in and "STAND-IN DATA" in plan.banner()
    assert not list(read_only_share.iterdir())
    assert main(["fetch", "mnist"]) == 2 and "read-only" in capsys.readouterr().err
