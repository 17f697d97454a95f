"""download_file and fetch against a real HTTP server on 127.0.0.1 that drops connections on cue.

The server (tests/range_server.py) speaks HTTP/1.1 with Range, answers 416 past the end, and can
close a response after N body bytes (a dropped Wi-Fi) or ignore Range (answer 200). No other network.
"""
import hashlib
import importlib
import random
import socket
import threading
import time

import pytest

from klif_edu.cli import main
from klif_edu.data import DatasetMissing, fetch
from klif_edu.data.fetch import DownloadError, Resource, download_file
from range_server import RangeServer

fetch_mod = importlib.import_module("klif_edu.data.fetch")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _blob(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_a_dropped_connection_keeps_the_part_and_the_next_call_resumes_it(tmp_path):
    data = _blob(50_000)
    dest = tmp_path / "blob.bin"
    with RangeServer({"blob.bin": data}) as server:
        server.drops = [12_345]
        with pytest.raises(DownloadError, match=r"stopped after 12,345 of 50,000 bytes.*continues"):
            download_file(server.url("blob.bin"), dest, md5=_md5(data), progress=False)
        assert not dest.exists() and (tmp_path / "blob.bin.part").stat().st_size == 12_345
        assert download_file(server.url("blob.bin"), dest, md5=_md5(data), progress=False) == dest
        assert server.requests[-1][1] == "bytes=12345-"  # only the rest was asked for
    assert dest.read_bytes() == data and not (tmp_path / "blob.bin.part").exists()


def test_fetch_keeps_a_short_part_instead_of_throwing_it_away(tmp_path, monkeypatch):
    data = _blob(40_000, seed=1)
    with RangeServer({"train.zip": data}) as server:
        res = [Resource((server.url("train.zip"),), "train.zip", _md5(data), "NMNIST", None)]
        monkeypatch.setattr(fetch_mod, "resources", lambda name: res)
        server.drops = [30_000]
        with pytest.raises(DatasetMissing, match="continues where it stopped"):
            fetch("nmnist", tmp_path, progress=False)
        assert (tmp_path / "NMNIST" / "train.zip.part").stat().st_size == 30_000
        with pytest.raises(DatasetMissing, match="still not where"):  # the download completes; no files inside
            fetch("nmnist", tmp_path, progress=False)
        assert server.requests[-1][1] == "bytes=30000-"
    assert (tmp_path / "NMNIST" / "train.zip").read_bytes() == data


def test_a_complete_part_left_by_a_kill_before_the_rename_is_checked_and_used(tmp_path):
    data = _blob(20_000, seed=2)
    (tmp_path / "blob.bin.part").write_bytes(data)
    with RangeServer({"blob.bin": data}) as server:  # a Range past the end: HTTP 416
        download_file(server.url("blob.bin"), tmp_path / "blob.bin", md5=_md5(data), progress=False)
        (tmp_path / "again.bin.part").write_bytes(data)
        download_file(server.url("blob.bin"), tmp_path / "again.bin", progress=False)  # no md5: sizes agree
    assert (tmp_path / "blob.bin").read_bytes() == data == (tmp_path / "again.bin").read_bytes()


def test_a_part_with_a_wrong_checksum_is_deleted_with_a_clear_message(tmp_path):
    data = _blob(20_000, seed=3)
    (tmp_path / "blob.bin.part").write_bytes(bytes(20_000))  # complete but wrong
    with RangeServer({"blob.bin": data}) as server:
        with pytest.raises(DownloadError, match="does not match its MD5 checksum.*deleted blob.bin.part"):
            download_file(server.url("blob.bin"), tmp_path / "blob.bin", md5=_md5(data), progress=False)
        assert not list(tmp_path.iterdir())
        download_file(server.url("blob.bin"), tmp_path / "blob.bin", md5=_md5(data), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == data


def test_a_server_that_ignores_range_restarts_the_file(tmp_path):
    data = _blob(30_000, seed=4)
    (tmp_path / "blob.bin.part").write_bytes(data[:7_000])
    with RangeServer({"blob.bin": data}) as server:
        server.ignore_range = True
        download_file(server.url("blob.bin"), tmp_path / "blob.bin", md5=_md5(data), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == data


def test_a_silent_server_times_out(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    tic = time.perf_counter()
    try:
        with pytest.raises(DownloadError, match="timed out"):
            download_file(f"http://127.0.0.1:{listener.getsockname()[1]}/x", tmp_path / "x", timeout=0.5,
                          progress=False)
    finally:
        listener.close()
    assert time.perf_counter() - tic < 5


def test_interrupted_downloads_at_seeded_random_points_end_with_the_same_bytes(tmp_path):
    """Fault injection: 40 downloads, each cut 1-4 times at random byte offsets (some by a server that
    then ignores Range, some left as a complete .part); every one ends equal to the source, md5 verified."""
    rng = random.Random(16)
    points = 0
    data = _blob(200_000, seed=5)
    with RangeServer({"blob.bin": data}) as server:
        for trial in range(40):
            dest = tmp_path / f"t{trial}.bin"
            cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 4)))
            server.drops = [b - a for a, b in zip([0, *cuts], cuts)]  # each response stops at the next cut
            server.ignore_range = trial % 5 == 4
            points += len(cuts)
            for _ in range(len(cuts) + 1):
                try:
                    download_file(server.url("blob.bin"), dest, md5=_md5(data), progress=False)
                    break
                except DownloadError as err:
                    assert "continues where this one stopped" in str(err)
            assert dest.read_bytes() == data, trial
            assert not dest.with_name(dest.name + ".part").exists()
            if trial % 7 == 0:  # killed after the last byte, before the rename
                dest.rename(dest.with_name(dest.name + ".part"))
                download_file(server.url("blob.bin"), dest, md5=_md5(data), progress=False)
                assert dest.read_bytes() == data
    assert points >= 80


def test_fetch_from_a_class_mirror(tmp_path, monkeypatch, capsys):
    data = _blob(10_000, seed=6)
    official = [Resource(("http://official.invalid/train.zip",), "train.zip", _md5(data), "NMNIST", None)]
    monkeypatch.setattr(fetch_mod, "resources", lambda name: official)
    with RangeServer({"klif/train.zip": data}) as server:
        assert main(["fetch", "nmnist", "--data-dir", str(tmp_path), "--mirror", server.url("klif/")]) == 2
        assert server.requests == [("/klif/train.zip", None)]  # the mirror, never the official URL
    assert (tmp_path / "NMNIST" / "train.zip").read_bytes() == data
    assert "still not where" in capsys.readouterr().err  # a bare archive, no event files in it
