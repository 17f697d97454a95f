"""The `klif-edu` command: demo, train, datasets, fetch, lesson, study, doctor, notebooks, lab.

    klif-edu demo                                  # offline KLIF vs LIF, figures in runs/demo
    klif-edu train --dataset fashion-mnist --neuron klif --epochs 1
    klif-edu datasets                              # what is on disk, download sizes, what to download
    klif-edu fetch all --data-dir /shared/klif-data   # a teacher, before class
    klif-edu lesson fashion-mnist                  # a notebook's lesson runs, ahead of class
    klif-edu study --dataset fashion-mnist --seeds 5 --limit-train 5000   # paired multi-seed comparison
    klif-edu doctor                                # one-minute self-check of the install and device
    klif-edu progress /home                        # a class's exercise results (right, wrong, not attempted)
    klif-edu notebooks [DEST] [--list]             # copy the lessons out of the package (keeps your edits)
    klif-edu lab [DEST]                            # copy when needed, then open JupyterLab there

Every sub-command handles errors the same way (``main``): bad arguments, a missing dataset, a
failed download, an unusable device or checkpoint print one short message to stderr and exit
with code 2 (a diverged run: 1; Ctrl-C: 130), never a traceback; ``--debug`` shows the
traceback instead. A traceback without --debug is a bug.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .places import data_dir_help
from .lessons import DEFAULT_DEST

EXIT_USAGE = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130


def _number_type(convert: type, low: float, inclusive: bool, what: str):
    """An argparse type: ``convert(text)``, finite, above ``low`` (or equal when inclusive)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        ok = value >= low if inclusive else value > low
        if not ok or value in (float("inf"), float("-inf")) or value != value:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _number_type(int, 1, True, "a positive integer")
_non_negative_int = _number_type(int, 0, True, "an integer >= 0")
_positive_float = _number_type(float, 0.0, False, "a positive number")


def _budget_arguments(p: argparse.ArgumentParser) -> None:
    """The options that fix one training run's budget (shared by train and study)."""
    p.add_argument("--arch", default="small", choices=("paper", "small"),
                   help="paper: PLIF's network for the dataset; small: a fast classroom network (default)")
    p.add_argument("--epochs", type=_positive_int, default=1)
    p.add_argument("--time-steps", type=_positive_int, default=None, help="T (default: per network)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (cosine to 0)")
    p.add_argument("--loss", default="mse", choices=("mse", "ce"), help="mse on firing rates (PLIF) or ce")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--data-dir", default=None, help=data_dir_help())
    p.add_argument("--limit-train", type=_positive_int, default=None, help="use only N training samples")
    p.add_argument("--limit-test", type=_positive_int, default=None, help="use only N test samples")
    p.add_argument("--backend", default="eager", choices=("eager", "compiled"),
                   help="neuron loop: eager (starts at once) or compiled (torch.compile; faster after warm-up)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands demo, train, datasets, fetch, lesson, study, doctor)."""
    parser = argparse.ArgumentParser(prog="klif-edu", description="KLIF spiking neurons for teaching.")
    parser.add_argument("--debug", action="store_true", help="show a Python traceback for errors (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="{demo,train,datasets,fetch,lesson,study,doctor,notebooks,lab,progress}")

    demo = sub.add_parser("demo", help="offline KLIF vs LIF demo; writes figures and a summary under runs/demo")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--quick", action="store_true", help="a much shorter run (also: KLIF_EDU_QUICK=1)")

    tr = sub.add_parser("train", help="train a network on a dataset; writes metrics, history and a checkpoint")
    tr.add_argument("--dataset", required=True, help="dataset name (see `klif-edu datasets`)")
    tr.add_argument("--neuron", required=True, choices=("klif", "lif", "plif", "k-only", "gate-only", "k-fire", "k-leak"),
                    help="klif, lif, plif (learned tau), or a KLIF variant: k-only (F = k*H), gate-only (F = ReLU(H)), "
                         "k-fire (k on the firing only), k-leak (k on the leak only)")
    _budget_arguments(tr)
    tr.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    tr.add_argument("--out", default=None, help="output folder (default: runs/<dataset>-<neuron>-<arch>)")
    tr.add_argument("--seed", type=_non_negative_int, default=0)
    tr.add_argument("--num-workers", type=_non_negative_int, default=0, help="data loader processes")
    tr.add_argument("--log-every", type=_positive_int, default=50, help="a history row every N batches")
    tr.add_argument("--dvs-split", default="spikingjelly", choices=("spikingjelly", "random"),
                    help="CIFAR10-DVS 9:1 split: spikingjelly (first 90%% per class, published numbers) or random")
    group = tr.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    group.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    tr.add_argument("--quiet", action="store_true", help="no progress bars, no per-epoch lines")

    st = sub.add_parser("study", help="paired multi-seed comparison of KLIF, LIF, PLIF and KLIF's variants; "
                        "writes study.json and study.png")
    st.add_argument("--dataset", required=True, help="dataset name (see `klif-edu datasets`)")
    st.add_argument("--variants", default="klif,lif,k-only,gate-only",
                    help="comma-separated, from klif, lif, k-only (F = k*H), gate-only (F = ReLU(H)), plif (learned tau), "
                         "k-fire (k on the firing only), k-leak (k on the leak only); default: the first four")
    st.add_argument("--seeds", type=_positive_int, default=5, help="seeds per variant (default 5: seeds 0..4)")
    st.add_argument("--first-seed", type=_non_negative_int, default=0)
    _budget_arguments(st)
    st.add_argument("--out", default=None, help="output folder (default: runs/study-<dataset>-<arch>)")
    st.add_argument("--resume", action="store_true", help="continue the study in --out where it stopped")
    st.add_argument("--quiet", action="store_true", help="no per-run lines")
    doc = sub.add_parser("doctor", help="one-minute self-check of the install and the device")
    doc.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")

    ds = sub.add_parser("datasets", help="list the datasets: present or missing, size, how to get them")
    ds.add_argument("--data-dir", default=None, help=data_dir_help())

    fe = sub.add_parser("fetch", help="download datasets with progress, checksums and resume (NAME or all)")
    fe.add_argument("name", help="a dataset name (see `klif-edu datasets`) or all")
    fe.add_argument("--data-dir", default=None, help=data_dir_help())
    fe.add_argument("--mirror", default=None, help="a class mirror (URL or folder) with the same files and "
                    "checksums, used instead of the official servers")

    le = sub.add_parser("lesson", help="run a training notebook's KLIF and LIF runs ahead of class "
                        "(the notebook then picks them up)")
    le.add_argument("name", help="dataset of the notebook, e.g. fashion-mnist")
    le.add_argument("--mode", default="lesson", choices=("lesson", "full", "test"))
    le.add_argument("--data-dir", default=None, help=data_dir_help())
    le.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    pr = sub.add_parser("progress", help="exercise results (right, wrong, not attempted) per notebook, "
                        "of one student's folder or a whole class's (DIR/<student>/...)")
    pr.add_argument("dirs", nargs="+", metavar="DIR", help="a notebooks folder, or a folder of students' folders")
    pr.add_argument("--csv", action="store_true", help="one row per student and exercise, for a spreadsheet")
    nb = sub.add_parser("notebooks", help="copy the lesson notebooks into DEST (keeps the ones you changed)")
    nb.add_argument("dest", nargs="?", default=DEFAULT_DEST, help=f"folder (default: ./{DEFAULT_DEST})")
    nb.add_argument("--list", action="store_true", help="list the series (minutes, GPU, downloads); copy nothing")
    lab = sub.add_parser("lab", help="copy the lessons into DEST when needed, then open JupyterLab there")
    lab.add_argument("dest", nargs="?", default=DEFAULT_DEST, help=f"folder (default: ./{DEFAULT_DEST})")
    for command in sub.choices.values():  # --debug also after the sub-command
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show a Python traceback for errors (for bug reports)")
    return parser


def _fail(command: str, message: Any, code: int = EXIT_USAGE) -> int:
    print(f"klif-edu {command}: error: {message}", file=sys.stderr)
    return code


def _size(n: Any) -> str:
    if not isinstance(n, (int, float)) or n <= 0:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"


def _datasets(args: argparse.Namespace) -> int:
    from .data import dataset_status

    try:
        rows = dataset_status(args.data_dir)
    except (TypeError, ValueError) as err:
        return _fail("datasets", err)
    from .data import download_size

    header = ("name", "kind", "status", "size", "download", "where it is / how to get it")
    table = [(r["name"], r.get("kind", ""), "present" if r.get("present") else "missing",
              _size(r.get("size_bytes")), _size(download_size(r["name"])) if download_size(r["name"]) else "-",
              r.get("path", "") if r.get("present") else f"{r.get('path', '')}: `klif-edu fetch {r['name']}`, or "
              + r.get("how_to_get", ""))
             for r in rows]
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(5)]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row[:5], widths)) + "  " + str(row[5]))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .data import DATASETS, DatasetMissing, fetch

    names = [n for n in DATASETS if not n.startswith("embedded-")] if args.name == "all" else [args.name]
    if any(n not in DATASETS for n in names):
        return _fail("fetch", f"unknown dataset {args.name!r}; choose one of: all, {', '.join(DATASETS)}")
    failed = []
    for name in names:
        try:
            root = fetch(name, args.data_dir, mirror=args.mirror)
            print(f"{name}: ready under {root}")
        except DatasetMissing as err:
            print(f"klif-edu fetch: {err}", file=sys.stderr)
            failed.append(name)
        except KeyboardInterrupt:
            return _fail("fetch", "interrupted; run the same command again to continue", EXIT_INTERRUPTED)
    if failed:
        return _fail("fetch", f"not fetched: {', '.join(failed)}")
    return 0


def _lesson(args: argparse.Namespace) -> int:
    from .data import DATASETS
    from .experiment import compare_neurons

    if args.name not in DATASETS:
        return _fail("lesson", f"unknown dataset {args.name!r}; choose one of: {', '.join(DATASETS)}")
    cmp = compare_neurons(args.name, mode=args.mode, device=args.device, data_dir=args.data_dir)
    for neuron, result in cmp.results.items():
        m = result.metrics
        print(f"{neuron}: test accuracy {m['test_accuracy']:.4f}, {m['wall_time_s']:.0f} s, in {result.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .data import DATASETS
    from .training import TrainConfig, train

    if args.dataset not in DATASETS:
        return _fail("train", f"unknown dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    config = TrainConfig(
        dataset=args.dataset, neuron=args.neuron, arch=args.arch, epochs=args.epochs,
        time_steps=args.time_steps, batch_size=args.batch_size, lr=args.lr, device=args.device,
        data_dir=args.data_dir, out=args.out, limit_train=args.limit_train, limit_test=args.limit_test,
        seed=args.seed, resume=args.resume, overwrite=args.overwrite, num_workers=args.num_workers,
        backend=args.backend, loss=args.loss, amp=not args.no_amp, log_every=args.log_every,
        progress=False if args.quiet else None, verbose=not args.quiet, dvs_split=args.dvs_split,
    )
    try:
        config.check()
        result = train(config)
    except KeyboardInterrupt:
        out = args.out or f"runs/{args.dataset}-{args.neuron}-{args.arch}"
        return _fail("train", f"interrupted; epochs already finished are saved in {out}/checkpoint.pt, "
                     "continue with the same command and --resume", EXIT_INTERRUPTED)
    if result.rank != 0:
        return 0  # under torchrun rank 0 reports
    m = result.metrics
    k = m["k"]
    print(f"test accuracy {m['test_accuracy']:.4f} after {m['epochs']} epoch(s), {m['wall_time_s']:.1f} s on "
          f"{m['device']}" + (" | k " + " ".join(f"{n}={v:.3f}" for n, v in k.items()) if k else ""))
    print(f"wrote {result.out / 'metrics.json'}, history.json, history.csv and checkpoint.pt")
    return 0


def _study(args: argparse.Namespace) -> int:
    from .data import DATASETS
    from .study import StudyConfig, report, run_study, save_figure

    if args.dataset not in DATASETS:
        return _fail("study", f"unknown dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    config = StudyConfig(
        dataset=args.dataset, variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()),
        seeds=args.seeds, first_seed=args.first_seed, epochs=args.epochs, arch=args.arch,
        time_steps=args.time_steps, batch_size=args.batch_size, lr=args.lr, loss=args.loss,
        limit_train=args.limit_train, limit_test=args.limit_test, device=args.device, backend=args.backend,
        data_dir=args.data_dir, out=args.out, resume=args.resume,
    )
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        config.check()
        summary = run_study(config, say=say)
    except KeyboardInterrupt:
        return _fail("study", f"interrupted; finished runs and epochs are saved in {config.out_dir}, "
                     "continue with the same command and --resume", EXIT_INTERRUPTED)
    figure = save_figure(summary, config.out_dir / "study.png")
    print(report(summary))
    print(f"wrote {config.out_dir / 'study.json'} and {figure}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    print(f"klif-edu doctor: checking the install and device {args.device!r}")
    checks = run_doctor(args.device)
    failed = [c for c in checks if not c.ok]
    if failed:
        return _fail("doctor", f"{len(failed)} of {len(checks)} checks failed: "
                     + "; ".join(f"{c.name}: {c.detail}" for c in failed), EXIT_DIVERGED)
    print(f"all {len(checks)} checks passed in {sum(c.seconds for c in checks):.0f} s")
    return 0


def _progress(args: argparse.Namespace) -> int:
    from .progress import collect, detail, find_results, table

    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        return _fail("progress", f"not a folder: {', '.join(missing)}")
    report = collect(find_results(args.dirs), args.dirs)
    if not report:
        return _fail("progress", f"no exercise results under {', '.join(args.dirs)}: check() writes "
                     "klif-edu-results.json beside each notebook it judges (up to 3 folders down are searched)", 1)
    if args.csv:
        from .progress import as_csv

        sys.stdout.write(as_csv(report))
        return 0
    print(detail(report[0]) if len(report) == 1 else table(report))
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from .lessons import copy_notebooks, list_lessons
    from .resources import ResourceMissing

    try:
        if args.list:
            lessons = list_lessons()
            for lesson in lessons:
                print(lesson.line())
            print(f"{len(lessons)} notebooks, about {sum(x.minutes or 0 for x in lessons)} minutes in all "
                  "(training notebooks: lesson mode on a laptop CPU)")
            return 0
        report = copy_notebooks(args.dest)
    except (OSError, ResourceMissing) as err:
        return _fail("notebooks", err)
    print("\n".join(report.lines()))
    print(f"the lessons are in {report.dest}; open them with `klif-edu lab {args.dest}`")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from .lessons import open_lab
    from .resources import ResourceMissing

    try:
        open_lab(args.dest)
    except (OSError, ResourceMissing, ModuleNotFoundError) as err:
        return _fail("lab", err)
    except KeyboardInterrupt:
        return 0  # JupyterLab stopped with Ctrl-C: the normal way out
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        summary = run_demo(out=args.out, quick=True if args.quick else None)
    except KeyboardInterrupt:
        return _fail("demo", "interrupted", EXIT_INTERRUPTED)
    print(f"wrote {summary['summary']} and {len(summary['figures'])} figures in {summary['out']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's own errors also return 2)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2): argparse already printed why
        return int(stop.code or 0) if not isinstance(stop.code, str) else EXIT_USAGE
    handlers = {"demo": _demo, "train": _train, "datasets": _datasets, "fetch": _fetch, "lesson": _lesson,
                "study": _study, "doctor": _doctor, "progress": _progress,
                "notebooks": _notebooks, "lab": _lab}
    try:
        return handlers[args.command](args)
    except _known_errors() as err:  # the package's own errors: one line, never a traceback (--debug: one)
        if args.debug:
            raise
        from .training import TrainingDiverged

        return _fail(args.command, err, EXIT_DIVERGED if isinstance(err, TrainingDiverged) else EXIT_USAGE)
    except KeyboardInterrupt:
        if args.debug:
            raise
        return _fail(args.command, "interrupted", EXIT_INTERRUPTED)


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors klif-edu raises on purpose, each with a message that says what to do (not bugs)."""
    from .checkpoint import CheckpointError
    from .data import DatasetMissing
    from .data.download import DownloadError
    from .data.extract import UnsafeArchive
    from .device import DeviceUnavailable
    from .study import StudyMismatch
    from .training import RunExists, TrainingDiverged

    return (DatasetMissing, DownloadError, UnsafeArchive, DeviceUnavailable, CheckpointError, RunExists,
            StudyMismatch, TrainingDiverged, ValueError)


if __name__ == "__main__":
    sys.exit(main())
