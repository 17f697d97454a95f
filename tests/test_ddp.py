"""Data-parallel training: two CPU processes (Gloo) end with the same parameters; only rank 0 writes."""
import os
import socket

import torch
import torch.multiprocessing as mp
from torch.utils.data import TensorDataset

from klif_edu.data import DatasetSpec

SPEC = DatasetSpec("toy", "static", (1, 12, 12), 3, 4, ("a", "b", "c"), "12x12 bands, for tests")


def _data(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 1, 12, 12, generator=g) * 0.2
    for i in range(n):
        x[i, 0, 4 * int(y[i]) : 4 * int(y[i]) + 4] += 1.0
    return TensorDataset(x, y)


def _rank(rank: int, world: int, port: int, tmp: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "KLIF_EDU_DEVICE": "cpu"})
    torch.set_num_threads(1)
    from klif_edu.training import TrainConfig, train

    cfg = TrainConfig(dataset="toy", epochs=2, batch_size=4, out=os.path.join(tmp, f"rank{rank}"),
                      verbose=False, progress=False, log_every=2)
    result = train(cfg, train_set=_data(24, 0), test_set=_data(10, 1), spec=SPEC)
    torch.save({"params": {k: v.detach() for k, v in result.model.named_parameters()},
                "metrics": result.metrics, "rank": result.rank,
                "dropout_seed": torch.initial_seed()}, os.path.join(tmp, f"result{rank}.pt"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_agree_and_only_rank0_writes(tmp_path):
    mp.spawn(_rank, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "result0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "result1.pt", weights_only=True)
    assert r0["params"].keys() == r1["params"].keys()
    for name in r0["params"]:
        assert torch.equal(r0["params"][name], r1["params"][name]), name
    assert r0["metrics"]["world_size"] == 2 and r0["metrics"]["train_size"] == 24
    assert (r0["rank"], r1["rank"]) == (0, 1)
    assert r0["metrics"]["test_accuracy"] == r1["metrics"]["test_accuracy"]  # all-reduced over both shards
    assert (tmp_path / "rank0" / "metrics.json").exists() and (tmp_path / "rank0" / "checkpoint.pt").exists()
    assert not (tmp_path / "rank1").exists()
    # each rank saw half of every epoch's data: 24 samples / 2 ranks / batch 4 = 3 steps per epoch
    assert r0["metrics"]["k"] != {} and r0["metrics"]["epochs"] == 2
    assert r0["dropout_seed"] != r1["dropout_seed"]  # each rank draws its own dropout masks
