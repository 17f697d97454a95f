"""The data package's contract: specs, data_root, dataset_status, encode, argument checks."""
import dataclasses
import pathlib

import pytest
import torch

import klif_edu.data.static as static
from klif_edu.data import (DATASETS, DatasetMissing, DatasetSpec, data_root, dataset_status, encode,
                           load_dataset)
from klif_edu.data.registry import repo_data_dir

NAMES = ["mnist", "fashion-mnist", "cifar10", "nmnist", "cifar10-dvs", "dvs-gesture",
         "embedded-fashion-mnist", "embedded-events"]


def test_specs_cover_the_six_paper_datasets_and_the_embedded_ones():
    assert list(DATASETS) == NAMES
    for name, spec in DATASETS.items():
        assert isinstance(spec, DatasetSpec) and spec.name == name
        assert spec.kind in ("static", "events") and len(spec.input_shape) == 3
        assert spec.num_classes == len(spec.class_names) and spec.description
    assert [DATASETS[n].time_steps for n in NAMES[:6]] == [8, 8, 8, 10, 20, 20]  # PLIF's T
    assert "SIMULATED" in DATASETS["embedded-events"].description
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["mnist"].time_steps = 4


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("KLIF_EDU_DATA", raising=False)
    assert data_root() == repo_data_dir()
    assert data_root() == pathlib.Path(__file__).resolve().parents[1] / "data"  # editable checkout
    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root(str(tmp_path / "arg")) == tmp_path / "arg"
    with pytest.raises(TypeError, match="data_dir"):
        data_root(3)
    with pytest.raises(ValueError, match="empty"):
        data_root("")


def test_load_dataset_uses_env_root(monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path))
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "none")
    with pytest.raises(DatasetMissing, match=str(tmp_path / "MNIST")):
        load_dataset("mnist", download=False)


@pytest.mark.parametrize("kwargs,error,words", [
    ({"name": "imagenet"}, ValueError, "choose one of"),
    ({"name": 3}, TypeError, "str"),
    ({"name": "mnist", "split": "val"}, ValueError, "split"),
    ({"name": "embedded-events", "time_steps": 0}, ValueError, "time_steps"),
    ({"name": "embedded-events", "limit": -1}, ValueError, "limit"),
    ({"name": "embedded-events", "seed": 1.5}, TypeError, "seed"),
    ({"name": "embedded-events", "binning": "space"}, ValueError, "binning"),
    ({"name": "embedded-fashion-mnist", "downscale": 2}, ValueError, "event datasets"),
    ({"name": "embedded-events", "downscale": 0}, ValueError, "downscale"),
])
def test_load_dataset_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        load_dataset(**kwargs)


def test_names_are_forgiving_about_case_and_underscores():
    assert load_dataset("Embedded_Fashion_MNIST", "test").spec.name == "embedded-fashion-mnist"


def test_dataset_status_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", tmp_path / "none")
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    for f in static._IDX_FILES:
        (tmp_path / "MNIST" / "raw" / f).write_bytes(b"12345")
    rows = {r["name"]: r for r in dataset_status(tmp_path)}
    assert list(rows) == NAMES
    for row in rows.values():
        assert set(row) == {"name", "kind", "present", "path", "size_bytes", "how_to_get"}
        assert isinstance(row["present"], bool) and row["how_to_get"]
    assert rows["mnist"]["present"] and rows["mnist"]["size_bytes"] == 20
    assert not rows["cifar10"]["present"] and rows["cifar10"]["size_bytes"] == 0
    assert not rows["fashion-mnist"]["present"] and not rows["nmnist"]["present"]
    assert rows["embedded-events"]["present"] and rows["embedded-events"]["size_bytes"] > 100_000
    assert rows["nmnist"]["path"] == str(tmp_path / "NMNIST")


def test_dataset_status_sees_debian_fashion_mnist(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    debian.mkdir()
    for f in static._IDX_FILES:
        (debian / f"{f}.gz").write_bytes(b"")
    monkeypatch.setattr(static, "DEBIAN_FASHION_MNIST", debian)
    row = next(r for r in dataset_status(tmp_path / "root") if r["name"] == "fashion-mnist")
    assert row["present"] and "Debian" in row["how_to_get"]
    # the folder listed is where the data is, never a folder that does not exist
    assert row["path"] == str(debian) and "klif-edu fetch fashion-mnist --data-dir" in row["how_to_get"]


def test_encode_direct_repeats_the_batch():
    x = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    seq = encode(x, 5)
    assert seq.shape == (5, 3, 1, 4, 4) and seq.dtype == torch.float64
    assert all(torch.equal(seq[t], x) for t in range(5))
    seq[0].zero_()
    assert not torch.equal(seq[1], seq[0])  # a real copy, not a view of x


def test_encode_poisson_rates_match_intensities():
    x = torch.tensor([0.0, 0.25, 0.5, 1.0]).view(1, 1, 1, 4).expand(2000, 1, 1, 4)
    seq = encode(x, 4, "poisson", torch.Generator().manual_seed(0))
    assert seq.shape == (4, 2000, 1, 1, 4) and set(seq.unique().tolist()) <= {0.0, 1.0}
    rates = seq.mean(dim=(0, 1, 2, 3))
    torch.testing.assert_close(rates, torch.tensor([0.0, 0.25, 0.5, 1.0]), atol=0.02, rtol=0)
    again = encode(x, 4, "poisson", torch.Generator().manual_seed(0))
    other = encode(x, 4, "poisson", torch.Generator().manual_seed(1))
    assert torch.equal(seq, again) and not torch.equal(seq, other)


@pytest.mark.parametrize("args,error,words", [
    ((torch.ones(2, 2, dtype=torch.long), 4), TypeError, "float"),
    (([1.0, 2.0], 4), TypeError, "torch.Tensor"),
    ((torch.ones(2, 2), 0), ValueError, "time_steps"),
    ((torch.ones(2, 2), 4, "rank"), ValueError, "method"),
    ((torch.full((2, 2), 1.5), 4, "poisson"), ValueError, r"\[0, 1\]"),
    ((torch.ones(2, 2), 4, "poisson", 7), TypeError, "Generator"),
])
def test_encode_rejects_bad_input(args, error, words):
    with pytest.raises(error, match=words):
        encode(*args)
