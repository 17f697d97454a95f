"""Train and evaluate a spiking network, recording k per layer as it learns.

    result = train(TrainConfig(dataset="embedded-fashion-mnist", neuron="klif", epochs=2))
    result.metrics["test_accuracy"], result.history, result.model.k_values()

Writes to ``config.out`` (default ``runs/<dataset>-<neuron>-<arch>``): ``checkpoint.pt``
after every epoch (atomic, previous one kept as ``checkpoint.prev.pt``), ``history.json`` and
``history.csv`` (format: ``klif_edu.history``; row 0 is the untrained network) and
``metrics.json`` at the end. ``resume=True`` continues from the checkpoint to the same
numbers an uninterrupted run reaches (epochs are the unit: an interrupted epoch is redone;
``stop_after`` ends a session early on purpose, e.g. to train two runs epoch by epoch;
raising ``epochs`` of a finished run continues it, with the cosine recomputed over the new
total). A resume continues only the same run: every setting of its identity must match but
those ``klif_edu.run_identity.RESUME_MAY_DIFFER`` names (else ``RunMismatch`` says which differ);
a run started afresh in a folder first removes everything an older run wrote there. Model
init, data order (a seeded generator per epoch) and dropout (a seed per epoch, and per rank
under DDP) depend only on ``seed``, the epoch (and rank). The learning rate follows a cosine
from ``lr`` to 0 over all steps of all ``epochs`` (PLIF anneals with a cosine too), Adam as
optimiser; history rows record the last step's rate.

Loss: ``"mse"`` between the output firing rates and the one-hot label (as PLIF), or
``"ce"``, cross-entropy on the rates. Under ``torchrun`` the run is data-parallel (DDP);
only rank 0 writes files and shows progress.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Subset
from tqdm.auto import tqdm

from . import history as hist
from .provenance import run_environment
from .checkpoint import save_checkpoint, write_json_atomic
from .config import LOSSES, TrainConfig, default_out
from .device import DistInfo, close_distributed, explain_device, init_distributed, select_device
from .models import SpikingNet, build_model
from .run_identity import RESUME_MAY_DIFFER, RunMismatch, _plain, has_run, identity_of_config, refuse_lost_checkpoint
from .run_identity import resolve_time_steps, resume_from, start_over
from .run_identity import restore_scaler as _restore_scaler  # noqa: F401 (doctor and tests use this name)
from .steps import TrainingDiverged, evaluate, train_step

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "RunExists",
    "RunMismatch",
    "LOSSES",
    "train",
    "train_step",
    "evaluate",
    "select_device",
    "default_out",
]

class RunExists(FileExistsError):
    """The output folder already holds a run and neither resume nor overwrite was asked for."""


@dataclass
class TrainResult:
    """What ``train`` returns: the trained model (unwrapped, on its device) and the records."""

    model: SpikingNet
    metrics: dict[str, Any]
    history: dict[str, Any]
    out: Path
    rank: int = 0  # this process's rank under torchrun (only rank 0 writes files)


# --- small pieces ------------------------------------------------------------------------
def _cosine_lr(config: TrainConfig, step: int, total: int) -> float:
    """Learning rate of optimisation step ``step`` (0-based) of ``total``: cosine from lr towards 0."""
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / total))


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def _dropout_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of the dropout masks of one epoch on one rank (rank 0: the one-process run's seed).

    Under DDP each rank draws its own masks for its own samples, as one process would.
    """
    return _epoch_seed(seed, epoch) ^ (rank << 40)


def _mixed_precision(config: TrainConfig, device: torch.device) -> bool:
    """float16 autocast and a GradScaler: asked for (``amp``) and on CUDA."""
    return bool(config.amp and device.type == "cuda")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _k_row(model: SpikingNet) -> dict[str, Any]:
    """k, slope and width per layer (the last two from the effective surrogate)."""
    k = model.k_values()
    if not k:
        return {"k": {}, **({"tau": model.tau_values()} if model.tau_values() else {})}
    first = next(iter(model.neurons().values()))
    fire_k = {n: v if model.neurons()[n].config.k_on_fire else 1.0 for n, v in k.items()}  # k-leak: LIF's surrogate
    shape = hist.surrogate_shape(first.surrogate, fire_k, first.v_threshold)
    return {
        "k": k,
        "slope": {n: _finite_or_none(s) for n, (s, _) in shape.items()},
        "width": {n: _finite_or_none(w) for n, (_, w) in shape.items()},
    }


def _new_history(model: SpikingNet, config: TrainConfig) -> dict[str, Any]:
    first = next(iter(model.neurons().values()))
    return {
        "neuron": config.neuron,
        "dataset": config.dataset,
        "arch": config.arch,
        "time_steps": model.time_steps,
        "surrogate": {"name": type(first.surrogate).__name__, "alpha": first.surrogate.alpha},
        "v_threshold": first.v_threshold,
        "epochs": [],
        "steps": [],
    }


def _limit(ds: Dataset, limit: int | None) -> Dataset:
    return ds if limit is None or limit >= len(ds) else Subset(ds, range(limit))


def _loader(ds: Dataset, config: TrainConfig, info: DistInfo, device: torch.device, epoch: int | None) -> DataLoader:
    """Training loader (epoch given: shuffled by a generator seeded from seed and epoch) or test loader."""
    g = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch or 0))
    if epoch is None:
        sampler = None
        if info.distributed:  # an exact shard per rank, no padding: sums are all-reduced
            ds = Subset(ds, range(info.rank, len(ds), info.world_size))
    elif info.distributed:
        sampler = DistributedSampler(ds, info.world_size, info.rank, shuffle=True, seed=config.seed)
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(ds, generator=g)
    return DataLoader(
        ds,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        pin_memory=device.type == "cuda",
        generator=g,
    )


def _all_reduce(values: list[float], device: torch.device, info: DistInfo) -> list[float]:
    if not info.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def _resolve_data(config: TrainConfig, spec: Any, train_set: Dataset | None, test_set: Dataset | None):
    """(spec, time_steps, train_set, test_set), loading from klif_edu.data what was not given."""
    if spec is None or train_set is None or test_set is None:
        from .data import DATASETS, load_dataset

        if spec is None:
            if config.dataset not in DATASETS:
                raise ValueError(f"unknown dataset {config.dataset!r}; choose one of: {', '.join(DATASETS)}")
            spec = DATASETS[config.dataset]
    t = resolve_time_steps(config, spec)
    frames = t if spec.kind == "events" else None
    common = {"data_dir": config.data_dir, "time_steps": frames, "seed": config.seed, "dvs_split": config.dvs_split}
    if train_set is None:
        train_set = load_dataset(config.dataset, "train", limit=config.limit_train, **common)
    if test_set is None:
        test_set = load_dataset(config.dataset, "test", limit=config.limit_test, **common)
    train_set, test_set = _limit(train_set, config.limit_train), _limit(test_set, config.limit_test)
    if len(train_set) == 0 or len(test_set) == 0:
        raise ValueError(f"{config.dataset}: empty train ({len(train_set)}) or test ({len(test_set)}) set")
    return spec, t, train_set, test_set


def _say(config: TrainConfig, info: DistInfo, text: str) -> None:
    if config.verbose and info.is_main:
        tqdm.write(text, file=sys.stderr)


# --- one run's state ---------------------------------------------------------------------
@dataclass
class _Run:
    """Everything one training session works with (built by ``_prepare``, advanced by the loop)."""

    config: TrainConfig
    info: DistInfo
    device: torch.device
    spec: Any
    out: Path
    train_set: Dataset
    test_set: Dataset
    model: SpikingNet
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    use_amp: bool
    identity: dict[str, Any]
    run_config: dict[str, Any]
    reason: str
    bars_off: bool | None
    history: dict[str, Any] | None = None
    epoch: int = 0  # epochs completed
    step: int = 0  # optimisation steps taken
    wall: float = 0.0  # seconds of training and evaluation, over all sessions

    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def test_pass(self, desc: str) -> dict[str, float]:
        """Loss and accuracy on the test set, with a progress bar where bars show."""
        loader = _loader(self.test_set, self.config, self.info, self.device, None)
        bar = tqdm(loader, desc=desc, unit="batch", leave=False, disable=self.bars_off, dynamic_ncols=True)
        return evaluate(self.model, bar, self.device, self.config.loss, self.use_amp, self.info.distributed)


def _prepare(config: TrainConfig, info: DistInfo, device: torch.device, spec, train_set, test_set) -> _Run:
    """Refuse to mix with a run already in the folder, load the data, build network and optimiser."""
    out = Path(config.out) if config.out else default_out(config)
    found = has_run(out)
    if found and not (config.resume or config.overwrite):
        raise RunExists(f"{out} already holds a run ({', '.join(found)}); pass --resume to continue it, "
                        "--overwrite to replace it, or --out DIR to start a new one")
    spec, t, train_set, test_set = _resolve_data(config, spec, train_set, test_set)
    use_amp = _mixed_precision(config, device)
    torch.manual_seed(config.seed)
    model = build_model(spec, config.neuron, config.arch, t, backend=config.backend, **config.neuron_kwargs).to(device)
    detach = next(iter(model.neurons().values())).detach_reset  # the paper networks' default: True
    identity = {**identity_of_config(config, spec, device), "mixed_precision": use_amp, "detach_reset": detach,
                "train_size": len(train_set), "test_size": len(test_set)}
    show = False if not info.is_main else config.progress
    return _Run(config=config, info=info, device=device, spec=spec, out=out, train_set=train_set, test_set=test_set,
                model=model, optimizer=torch.optim.Adam(model.parameters(), lr=config.lr),
                scaler=torch.amp.GradScaler(device.type if use_amp else "cuda", enabled=use_amp),
                use_amp=use_amp, identity=identity, reason=explain_device(config.device)[1],
                run_config=_plain({**asdict(config), "time_steps": t, "detach_reset": detach}),
                bars_off=True if show is False else (None if show is None else False))


def _resume_or_start(run: _Run, may_differ: Iterable[str]) -> None:
    """Continue the checkpoint in ``run.out`` (the same run only), or start over there."""
    config, info = run.config, run.info
    if config.resume and run.ckpt_path.exists():
        state, run.identity = resume_from(run.ckpt_path, run.identity, may_differ, run.model, run.optimizer,
                                          run.scaler, map_location=run.device)
        run.history, run.epoch = state["history"], int(state["epoch"])
        run.step, run.wall = int(state.get("step", 0)), float(state.get("wall_time", 0.0))
        _say(config, info, f"klif-edu: resuming {run.ckpt_path} after epoch {run.epoch} of {config.epochs}")
        return
    if config.resume:
        refuse_lost_checkpoint(run.out)
        _say(config, info, f"klif-edu: no checkpoint in {run.out} yet; starting from epoch 0")
    if info.is_main:
        start_over(run.out)  # nothing of an older run survives to be paired with this one's files
    if info.distributed:
        dist.barrier()
    run.history = _new_history(run.model, config)
    before = run.test_pass("test (untrained)")
    run.history["epochs"].append({"epoch": 0, "step": 0, **_k_row(run.model), "test_loss": before["loss"],
                                  "test_accuracy": before["accuracy"], "lr": config.lr, "wall_time": 0.0})


def _train_epoch(run: _Run, net: torch.nn.Module, epoch: int) -> tuple[float, float, float, float]:
    """One epoch of optimisation steps; returns (loss sum, correct, samples, last lr), summed over ranks."""
    config, info, device, model = run.config, run.info, run.device, run.model
    torch.manual_seed(_dropout_seed(config.seed, epoch, info.rank))  # same with or without resume
    loader = _loader(run.train_set, config, info, device, epoch)
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count (epoch)
    window = torch.zeros(3, dtype=torch.float64, device=device)  # same since the last step row
    model.train()
    bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", unit="batch", leave=False, disable=run.bars_off,
               dynamic_ncols=True)
    total, lr = config.epochs * len(loader), config.lr
    kept = f" The checkpoint from epoch {epoch - 1} is kept in {run.ckpt_path}." if epoch > 1 else ""
    for batch, (x, y) in enumerate(bar, 1):
        y = y.to(device, non_blocking=True)
        lr = _cosine_lr(config, run.step, total)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        rates, loss = train_step(net, run.optimizer, run.scaler, x, y, config.loss, device, run.use_amp,
                                 where=f"epoch {epoch}, step {batch} (global step {run.step + 1})",
                                 hint=f"Try a smaller --lr (now {lr:g}) or check the data for NaN/inf values." + kept,
                                 distributed=info.distributed)
        run.step += 1
        stats = torch.stack([loss.detach().double() * len(y), (rates.argmax(1) == y).sum().double(),
                             sums.new_tensor(len(y))])
        sums += stats
        window += stats
        if run.step % config.log_every == 0 or batch == len(loader):
            w = _all_reduce(window.tolist(), device, info)
            window.zero_()
            if info.is_main:
                k = model.k_values()
                tau = model.tau_values()
                run.history["steps"].append({"step": run.step, "epoch": epoch, "loss": w[0] / w[2],
                                             "accuracy": w[1] / w[2], "lr": lr, "k": k, **({"tau": tau} if tau else {})})
                bar.set_postfix(loss=f"{w[0] / w[2]:.4f}", acc=f"{w[1] / w[2]:.3f}",
                                **({"k": ",".join(f"{v:.3f}" for v in k.values())} if k else {}))
    return (*_all_reduce(sums.tolist(), device, info), lr)


def _end_epoch(run: _Run, epoch: int, train: tuple[float, float, float, float], tic: float) -> dict[str, Any]:
    """Evaluate after an epoch, record the row and write the checkpoint and history (rank 0)."""
    loss_sum, correct, n, lr = train
    if run.info.distributed:  # every rank evaluates with rank 0's BN statistics
        for buf in run.model.buffers():
            dist.broadcast(buf, 0)
    test = run.test_pass(f"test after epoch {epoch}")
    run.wall += time.perf_counter() - tic
    run.epoch = epoch
    row = {"epoch": epoch, "step": run.step, **_k_row(run.model), "train_loss": loss_sum / n,
           "train_accuracy": correct / n, "test_loss": test["loss"], "test_accuracy": test["accuracy"],
           "lr": lr, "wall_time": run.wall}
    run.history["epochs"].append(row)
    if run.info.is_main:
        save_checkpoint({"epoch": epoch, "step": run.step, "wall_time": run.wall, "config": run.run_config,
                         "identity": run.identity, "model": run.model.state_dict(),
                         "optimizer": run.optimizer.state_dict(), "scaler": run.scaler.state_dict(),
                         "history": run.history}, run.ckpt_path)
        hist.save(run.history, run.out / "history.json")
        hist.save_csv(run.history, run.out / "history.csv")
        k = run.model.k_values()
        _say(run.config, run.info, f"epoch {epoch}/{run.config.epochs}: train loss {loss_sum / n:.4f} acc "
             f"{correct / n:.4f} | test loss {test['loss']:.4f} acc {test['accuracy']:.4f} | {run.wall:.1f}s"
             + (" | k " + " ".join(f"{name}={v:.3f}" for name, v in k.items()) if k else ""))
    return row


def _metrics(run: _Run, train_time: float, seen: int) -> dict[str, Any]:
    """metrics.json: the run's identity, its results and this session's speed."""
    config, last = run.config, run.history["epochs"][-1]
    return {
        "dataset": config.dataset, "neuron": config.neuron, "arch": config.arch,
        "epochs": int(last["epoch"]), "time_steps": run.identity["time_steps"], "batch_size": config.batch_size,
        "lr": config.lr, "loss": config.loss, "seed": config.seed, "backend": config.backend,
        "detach_reset": run.identity["detach_reset"], "dvs_split": run.identity["dvs_split"],
        "device": str(run.device), "device_reason": run.reason, "mixed_precision": run.use_amp,
        "world_size": run.info.world_size, "train_size": len(run.train_set), "test_size": len(run.test_set),
        "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
        "train_accuracy": last.get("train_accuracy"), "train_loss": last.get("train_loss"),
        "k": run.model.k_values(), "slope": last.get("slope", {}), "width": last.get("width", {}),
        "wall_time_s": run.wall, "train_time_s_this_session": train_time,
        "images_per_s_this_session": seen / train_time if train_time > 0 else None,
        "torch_version": str(torch.__version__), "identity": run.identity,
        "tau": run.model.tau_values(), "environment": run_environment(run.device),  # provenance: not identity
    }


# --- the loop ----------------------------------------------------------------------------
def train(
    config: TrainConfig,
    *,
    train_set: Dataset | None = None,
    test_set: Dataset | None = None,
    spec: Any = None,
    may_differ: Iterable[str] = tuple(RESUME_MAY_DIFFER),
) -> TrainResult:
    """Train per ``config``.

    ``train_set``/``test_set`` (items (x, y) as ``klif_edu.data`` gives them) and ``spec`` (a
    ``DatasetSpec``) may be given directly, e.g. for your own data; what is not given comes
    from ``klif_edu.data`` by ``config.dataset``. ``may_differ``: the identity settings a resume
    may change (``klif_edu.run_identity``; a study passes none).
    """
    config.check()
    info, device = init_distributed(config.device)
    try:
        return _train(config, info, device, spec, train_set, test_set, may_differ)
    finally:
        close_distributed(info)


def _train(config: TrainConfig, info: DistInfo, device: torch.device, spec, train_set, test_set,
           may_differ: Iterable[str]) -> TrainResult:
    run = _prepare(config, info, device, spec, train_set, test_set)
    _say(config, info, f"klif-edu: {config.dataset} ({len(run.train_set)} train / {len(run.test_set)} test), "
         f"{config.arch} network with {config.neuron.upper()}, T={run.identity['time_steps']}, device {device} "
         f"({run.reason})" + (", mixed precision" if run.use_amp else "")
         + (f", {info.world_size} processes" if info.distributed else ""))
    _resume_or_start(run, may_differ)
    net = run.model
    if info.distributed:
        net = torch.nn.parallel.DistributedDataParallel(run.model,
                                                        device_ids=[device] if device.type == "cuda" else None)
    train_time, seen = 0.0, 0
    epochs_bar = tqdm(range(run.epoch + 1, config.epochs + 1), desc="epochs", unit="epoch", initial=run.epoch,
                      total=config.epochs, disable=run.bars_off, dynamic_ncols=True)
    for epoch in epochs_bar:
        if config.stop_after is not None and epoch > config.stop_after:
            break  # as if interrupted after epoch stop_after: resume=True continues from here
        tic = time.perf_counter()
        sums = _train_epoch(run, net, epoch)
        train_time += time.perf_counter() - tic
        seen += int(sums[2])
        row = _end_epoch(run, epoch, sums, tic)
        epochs_bar.set_postfix(test_acc=f"{row['test_accuracy']:.4f}")
    epochs_bar.close()
    metrics = _metrics(run, train_time, seen)
    if info.is_main:
        hist.save(run.history, run.out / "history.json")
        hist.save_csv(run.history, run.out / "history.csv")
        write_json_atomic(metrics, run.out / "metrics.json")
    return TrainResult(model=run.model, metrics=metrics, history=run.history, out=run.out, rank=info.rank)
