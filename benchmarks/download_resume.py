"""Time of a resumed download against an uninterrupted one, on a local HTTP server.

    python benchmarks/download_resume.py               # 1 MB, the connection drops 3 times, 20 rounds
    python benchmarks/download_resume.py --size 10000000 --drops 5 --rounds 5

Both contenders fetch the same random file from tests/range_server.py (127.0.0.1, HTTP Range)
with ``klif_edu.data.fetch.download_file`` and its MD5 check. "uninterrupted": one call.
"resumed": the server closes the connection after a seeded random number of bytes, ``--drops``
times, and the download is called again after each ``DownloadError`` (continuing the ``.part``
with a Range request) until it completes. Rounds alternate the two, so that a busy machine slows
both alike; the table gives medians and the ratio is the median of per-round ratios. Every
download is checked byte for byte against the source.
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import random
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from klif_edu.data.fetch import DownloadError, download_file  # noqa: E402
from range_server import RangeServer  # noqa: E402


def _one(server: RangeServer, dest: pathlib.Path, md5: str, cuts: list[int]) -> tuple[float, int]:
    """Seconds to a complete, checked ``dest`` with the connection cut at ``cuts``; and the calls it took."""
    server.drops = [b - a for a, b in zip([0, *cuts], cuts)]
    calls = 0
    tic = time.perf_counter()
    while True:
        calls += 1
        try:
            download_file(server.url("blob.bin"), dest, md5=md5, progress=False)
            return time.perf_counter() - tic, calls
        except DownloadError:
            if calls > len(cuts) + 1:
                raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes (default 1 MB)")
    parser.add_argument("--drops", type=int, default=3, help="connection drops in the resumed download")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data = rng.randbytes(args.size)
    md5 = hashlib.md5(data).hexdigest()
    times: dict[str, list[float]] = {"uninterrupted": [], "resumed": []}
    with tempfile.TemporaryDirectory() as tmp, RangeServer({"blob.bin": data}) as server:
        for r in range(args.rounds + 1):  # round 0 warms up (imports, first connection)
            order = ["uninterrupted", "resumed"] if r % 2 else ["resumed", "uninterrupted"]
            for name in order:
                dest = pathlib.Path(tmp) / f"{name}-{r}.bin"
                cuts = sorted(rng.sample(range(1, args.size), args.drops)) if name == "resumed" else []
                seconds, calls = _one(server, dest, md5, cuts)
                assert dest.read_bytes() == data and calls == len(cuts) + 1, (name, calls)
                if r:
                    times[name].append(seconds)
                dest.unlink()
    ratios = [a / b for a, b in zip(times["resumed"], times["uninterrupted"])]
    print(f"{args.size:,} bytes from 127.0.0.1, md5 checked, {args.rounds} rounds (medians):")
    for name, values in times.items():
        extra = f" ({args.drops} drops, {args.drops + 1} calls)" if name == "resumed" else " (1 call)"
        print(f"  {name:14} {statistics.median(values) * 1e3:8.1f} ms{extra}")
    print(f"  resumed / uninterrupted: {statistics.median(ratios):.2f}x (median of per-round ratios)")


if __name__ == "__main__":
    main()
