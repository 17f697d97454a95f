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
total): model init, data order (a seeded generator per epoch)
and dropout (a seed per epoch, and per rank under DDP) depend only on ``seed``, the epoch (and rank). The learning rate
follows a cosine from ``lr`` to 0 over all steps of all ``epochs`` (PLIF anneals with a
cosine too), Adam as optimiser; history rows record the last step's rate.

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
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Subset
from tqdm.auto import tqdm

from . import history as hist
from .provenance import run_environment
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint, write_json_atomic
from .config import LOSSES, TrainConfig, default_out
from .device import DistInfo, close_distributed, explain_device, init_distributed, select_device
from .models import PAPER_TIME_STEPS, SMALL_TIME_STEPS, SpikingNet, build_model
from .steps import TrainingDiverged, evaluate, train_step

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "RunExists",
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


def _restore_scaler(scaler: torch.amp.GradScaler, saved: dict[str, Any] | None) -> None:
    """Load a saved GradScaler state into an enabled scaler; a disabled one's ``{}`` leaves it fresh.

    A run started without mixed precision (a CPU run, or ``--no-amp``) saves ``{}``; resuming
    it on a GPU starts the scaler from its defaults (GradScaler refuses an empty state).
    """
    if scaler.is_enabled() and saved:
        scaler.load_state_dict(saved)


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


def _plain(value: Any) -> Any:
    """JSON/weights_only-safe version of a config value (a surrogate becomes its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


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
    t = config.time_steps
    if t is None:
        if config.arch == "paper":
            t = PAPER_TIME_STEPS.get(spec.name, spec.time_steps)
        else:
            t = SMALL_TIME_STEPS if spec.kind == "static" else spec.time_steps
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


# --- the loop ----------------------------------------------------------------------------
def train(
    config: TrainConfig,
    *,
    train_set: Dataset | None = None,
    test_set: Dataset | None = None,
    spec: Any = None,
) -> TrainResult:
    """Train per ``config``.

    ``train_set``/``test_set`` (items (x, y) as ``klif_edu.data`` gives them) and ``spec`` (a
    ``DatasetSpec``) may be given directly, e.g. for your own data; what is not given comes
    from ``klif_edu.data`` by ``config.dataset``.
    """
    config.check()
    info, device = init_distributed(config.device)
    try:
        return _train(config, info, device, spec, train_set, test_set)
    finally:
        close_distributed(info)


def _train(config: TrainConfig, info: DistInfo, device: torch.device, spec, train_set, test_set) -> TrainResult:
    out = Path(config.out) if config.out else default_out(config)
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists() and not (config.resume or config.overwrite):
        raise RunExists(
            f"{out} already holds a run ({ckpt_path.name}); pass --resume to continue it, "
            "--overwrite to replace it, or --out DIR to start a new one"
        )
    spec, t, train_set, test_set = _resolve_data(config, spec, train_set, test_set)
    reason = explain_device(config.device)[1]
    use_amp = _mixed_precision(config, device)
    _say(config, info, f"klif-edu: {config.dataset} ({len(train_set)} train / {len(test_set)} test), "
         f"{config.arch} network with {config.neuron.upper()}, T={t}, device {device} ({reason})"
         + (", mixed precision" if use_amp else "") + (f", {info.world_size} processes" if info.distributed else ""))

    torch.manual_seed(config.seed)
    model = build_model(spec, config.neuron, config.arch, t, backend=config.backend, **config.neuron_kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler(device.type if use_amp else "cuda", enabled=use_amp)
    detach = next(iter(model.neurons().values())).detach_reset  # the paper networks' default: True
    run_config = _plain({**asdict(config), "time_steps": t, "detach_reset": detach})
    test_loader = _loader(test_set, config, info, device, None)

    show = False if not info.is_main else (None if config.progress is None else config.progress)
    disable = True if show is False else (None if show is None else False)

    def test_pass(desc: str) -> dict[str, float]:
        """Loss and accuracy on the test set, with a progress bar where bars show."""
        bar = tqdm(test_loader, desc=desc, unit="batch", leave=False, disable=disable, dynamic_ncols=True)
        return evaluate(model, bar, device, config.loss, use_amp, info.distributed)

    start_epoch, step, wall = 0, 0, 0.0
    if config.resume and ckpt_path.exists():
        state = load_checkpoint(
            ckpt_path,
            expect={k: run_config[k] for k in ("dataset", "neuron", "arch", "time_steps", "loss", "neuron_kwargs")
                    + (("dvs_split",) if spec.name == "cifar10-dvs" else ())},  # a split change would mix test into train
            map_location=device,
        )
        if state["config"].get("detach_reset", detach) != detach:  # older checkpoints do not say
            raise CheckpointError(f"{ckpt_path} was trained with detach_reset={state['config']['detach_reset']}, "
                                  f"this network has detach_reset={detach}; pass the same neuron_kwargs "
                                  "or use another --out to start a new run")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{ckpt_path} does not fit this network: {str(err).splitlines()[0]}") from None
        _restore_scaler(scaler, state.get("scaler"))
        history, start_epoch = state["history"], int(state["epoch"])
        step, wall = int(state.get("step", 0)), float(state.get("wall_time", 0.0))
        _say(config, info, f"klif-edu: resuming {ckpt_path} after epoch {start_epoch} of {config.epochs}")
    else:
        if config.resume:
            _say(config, info, f"klif-edu: no checkpoint in {out} yet; starting from epoch 0")
        history = _new_history(model, config)
        before = test_pass("test (untrained)")
        history["epochs"].append(
            {"epoch": 0, "step": 0, **_k_row(model), "test_loss": before["loss"],
             "test_accuracy": before["accuracy"], "lr": config.lr, "wall_time": 0.0}
        )

    net = model
    if info.distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    train_time = 0.0
    seen = 0
    last = history["epochs"][-1]
    epochs_bar = tqdm(range(start_epoch + 1, config.epochs + 1), desc="epochs", unit="epoch",
                      initial=start_epoch, total=config.epochs, disable=disable, dynamic_ncols=True)
    for epoch in epochs_bar:
        if config.stop_after is not None and epoch > config.stop_after:
            break  # as if interrupted after epoch stop_after: resume=True continues from here
        torch.manual_seed(_dropout_seed(config.seed, epoch, info.rank))  # same with or without resume
        loader = _loader(train_set, config, info, device, epoch)
        tic = time.perf_counter()
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count (epoch)
        window = torch.zeros(3, dtype=torch.float64, device=device)  # same since the last step row
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", unit="batch", leave=False,
                   disable=disable, dynamic_ncols=True)
        total = config.epochs * len(loader)
        for batch, (x, y) in enumerate(bar, 1):
            y = y.to(device, non_blocking=True)
            lr = _cosine_lr(config, step, total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            rates, loss = train_step(net, optimizer, scaler, x, y, config.loss, device, use_amp,
                                     where=f"epoch {epoch}, step {batch} (global step {step + 1})",
                                     hint=f"Try a smaller --lr (now {lr:g}) or check the data for NaN/inf values."
                                     + (f" The checkpoint from epoch {epoch - 1} is kept in {ckpt_path}." if epoch > 1 else ""),
                                     distributed=info.distributed)
            step += 1
            stats = torch.stack([loss.detach().double() * len(y), (rates.argmax(1) == y).sum().double(),
                                 sums.new_tensor(len(y))])
            sums += stats
            window += stats
            if step % config.log_every == 0 or batch == len(loader):
                w = _all_reduce(window.tolist(), device, info)
                window.zero_()
                if info.is_main:
                    history["steps"].append({"step": step, "epoch": epoch, "loss": w[0] / w[2],
                                             "accuracy": w[1] / w[2], "lr": lr, "k": model.k_values(),
                                             **({"tau": model.tau_values()} if model.tau_values() else {})})
                    k = model.k_values()
                    bar.set_postfix(loss=f"{w[0] / w[2]:.4f}", acc=f"{w[1] / w[2]:.3f}",
                                    **({"k": ",".join(f"{v:.3f}" for v in k.values())} if k else {}))
        train_time += time.perf_counter() - tic
        loss_sum, correct, n = _all_reduce(sums.tolist(), device, info)
        seen += int(n)
        if info.distributed:  # every rank evaluates with rank 0's BN statistics
            for buf in model.buffers():
                dist.broadcast(buf, 0)
        test = test_pass(f"test after epoch {epoch}")
        wall += time.perf_counter() - tic
        last = {"epoch": epoch, "step": step, **_k_row(model), "train_loss": loss_sum / n,
                "train_accuracy": correct / n, "test_loss": test["loss"], "test_accuracy": test["accuracy"],
                "lr": lr, "wall_time": wall}
        history["epochs"].append(last)
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            save_checkpoint({"epoch": epoch, "step": step, "wall_time": wall, "config": run_config,
                             "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "scaler": scaler.state_dict(), "history": history}, ckpt_path)
            hist.save(history, out / "history.json")
            hist.save_csv(history, out / "history.csv")
            k = model.k_values()
            epochs_bar.set_postfix(test_acc=f"{test['accuracy']:.4f}")
            _say(config, info, f"epoch {epoch}/{config.epochs}: train loss {loss_sum / n:.4f} acc {correct / n:.4f}"
                 f" | test loss {test['loss']:.4f} acc {test['accuracy']:.4f} | {wall:.1f}s"
                 + (" | k " + " ".join(f"{name}={v:.3f}" for name, v in k.items()) if k else ""))
    epochs_bar.close()

    metrics = {
        "dataset": config.dataset, "neuron": config.neuron, "arch": config.arch,
        "epochs": int(last["epoch"]), "time_steps": t, "batch_size": config.batch_size, "lr": config.lr,
        "loss": config.loss, "seed": config.seed, "backend": config.backend,
        "detach_reset": detach,
        "dvs_split": config.dvs_split if spec.name == "cifar10-dvs" else None,
        "device": str(device), "device_reason": reason, "mixed_precision": use_amp, "world_size": info.world_size,
        "train_size": len(train_set), "test_size": len(test_set),
        "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
        "train_accuracy": last.get("train_accuracy"), "train_loss": last.get("train_loss"),
        "k": model.k_values(), "slope": last.get("slope", {}), "width": last.get("width", {}),
        "wall_time_s": wall, "train_time_s_this_session": train_time,
        "images_per_s_this_session": seen / train_time if train_time > 0 else None,
        "torch_version": str(torch.__version__),
        "tau": model.tau_values(), "environment": run_environment(device),
    }
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        hist.save(history, out / "history.json")
        hist.save_csv(history, out / "history.csv")
        write_json_atomic(metrics, out / "metrics.json")
    return TrainResult(model=model, metrics=metrics, history=history, out=out, rank=info.rank)
