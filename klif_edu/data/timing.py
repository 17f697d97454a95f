"""Does timing tell two event samples apart? Compare their frames summed over time, in time, and backwards.

    cmp = timing_comparison(frames_a, frames_b)       # frames: [T, 2, H, W] event counts, ON/OFF
    cmp.summed, cmp.in_time, cmp.backwards            # cosine similarities in [0, 1]
    print(cmp.describe("clockwise", "counter-clockwise"))   # sentences computed from the numbers

The measure is the cosine similarity of the two count arrays: sum(a*b) / (|a| |b|). Pixels where
neither sample has events add nothing to it, so it does not depend on how much empty background
the sensor has (a Pearson correlation does: padding both with zeros raises it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["similarity", "play_backwards", "TimingComparison", "timing_comparison"]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two non-negative event-count arrays of one shape: 1 same pattern, 0 no overlap."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"similarity: both arrays need one shape, got {a.shape} and {b.shape}")
    if (a < 0).any() or (b < 0).any():
        raise ValueError("similarity: expects event counts (>= 0)")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        raise ValueError("similarity: a sample without events has no pattern to compare")
    return min(1.0, float((a * b).sum() / norm))  # rounding can give 1 + 2e-16


def play_backwards(frames: np.ndarray) -> np.ndarray:
    """Frames [T, 2, H, W] run backwards in time: frame order reversed, ON and OFF swapped.

    Run backwards, a pixel that got brighter gets darker: an ON event becomes an OFF event.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 2:
        raise ValueError(f"play_backwards: expects frames [T, 2, H, W] (ON and OFF), got shape {frames.shape}")
    return frames[::-1, ::-1]


@dataclass(frozen=True)
class TimingComparison:
    """Similarities of two samples' frames: summed over time, frame by frame, and the first played backwards."""

    summed: float
    in_time: float
    backwards: float

    def describe(self, a: str = "the first", b: str = "the second") -> str:
        """What the numbers say, in sentences chosen by the numbers (no fixed conclusion)."""
        lines = [f"summed over time: similarity {self.summed:.2f}; frame by frame: {self.in_time:.2f}; "
                 f"{a} played backwards against {b}: {self.backwards:.2f}."]
        if self.summed - self.in_time >= 0.1:
            lines.append(f"Summed, the two look more alike than frame by frame ({self.summed:.2f} > {self.in_time:.2f}): "
                         "part of what separates them lives in the order of the frames.")
        else:
            lines.append(f"Summed, they are not more alike than frame by frame ({self.summed:.2f} vs {self.in_time:.2f}): "
                         "where the events fall already separates them; timing is not needed here.")
        if self.backwards - self.in_time >= 0.1:
            lines.append(f"Played backwards, {a} comes closer to {b} ({self.backwards:.2f} > {self.in_time:.2f}): "
                         "reversing time turns much of one into the other.")
        else:
            lines.append(f"Played backwards, {a} does not come clearly closer to {b} "
                         f"({self.backwards:.2f} vs {self.in_time:.2f}).")
        return "\n".join(lines)


def timing_comparison(a: np.ndarray, b: np.ndarray) -> TimingComparison:
    """Compare frames a and b [T, 2, H, W]: summed over time, in time, and a played backwards against b."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return TimingComparison(summed=similarity(a.sum(0), b.sum(0)), in_time=similarity(a, b),
                            backwards=similarity(play_backwards(a), b))
