"""SIMULATED event camera: a still image moved in three saccades, the way N-MNIST was recorded.

    events = saccade_events(image)      # image uint8 [28, 28] -> structured array (x, y, t, p)

N-MNIST (Orchard et al. 2015) put MNIST digits on a monitor and moved an ATIS camera along
three ~100 ms saccades (a triangle: right-down, right-up, back left). Here the image moves
instead, over a 34x34 sensor, rendered every millisecond with bilinear interpolation. Each
pixel keeps the log intensity of its last event; when the log intensity has moved by at least
`threshold` since then, the pixel emits one event: ON (p=1) when brighter, OFF (p=0) when
darker, and its reference moves by the whole number of thresholds crossed. Deterministic:
no noise, no refractory period. This is a model for teaching, not a recording.
"""
from __future__ import annotations

import numpy as np

__all__ = ["EVENT_DTYPE", "SENSOR", "SACCADES", "saccade_path", "render", "saccade_events"]

# The same field order and types tonic's N-MNIST reader produces.
EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
SENSOR = (34, 34)          # (H, W), N-MNIST's sensor crop
# (dx, dy) of each saccade in pixels, over `SACCADE_MS` each: the N-MNIST triangle.
SACCADES = ((3.5, 7.0), (3.5, -7.0), (-7.0, 0.0))
SACCADE_MS = 105


def saccade_path(step_ms: int = 1) -> np.ndarray:
    """Image offset (dx, dy) in pixels at each time step; float64 [steps, 2], starts at (0, 0)."""
    frac = np.arange(step_ms, SACCADE_MS + 1, step_ms, dtype=np.float64)[:, None] / SACCADE_MS
    pieces, start = [np.zeros((1, 2))], np.zeros(2)
    for move in np.array(SACCADES, dtype=np.float64):
        pieces.append(start + frac * move)
        start = start + move
    return np.vstack(pieces)


def render(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The image in [0, 1] placed on the sensor at each (dx, dy) offset, bilinear; float64 [S, 34, 34]."""
    H, W = SENSOR
    h, w = image.shape
    offsets = np.asarray(offsets, dtype=np.float64).reshape(-1, 2)
    # sensor pixel (r, c) sees image point (r - oy, c - ox); the path is centred on the sensor
    oy = (H - h) / 2 - 3.5 + offsets[:, 1]
    ox = (W - w) / 2 - 3.5 + offsets[:, 0]
    rows = np.arange(H, dtype=np.float64)[None, :, None] - oy[:, None, None]
    cols = np.arange(W, dtype=np.float64)[None, None, :] - ox[:, None, None]
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    padded = np.zeros((h + 2, w + 2))
    padded[1:-1, 1:-1] = image / 255.0

    def at(r, c):
        return padded[np.clip(r.astype(np.int64) + 1, 0, h + 1), np.clip(c.astype(np.int64) + 1, 0, w + 1)]

    return ((1 - fr) * (1 - fc) * at(r0, c0) + (1 - fr) * fc * at(r0, c0 + 1)
            + fr * (1 - fc) * at(r0 + 1, c0) + fr * fc * at(r0 + 1, c0 + 1))


def saccade_events(image: np.ndarray, threshold: float = 1.0, eps: float = 0.1,
                   step_ms: int = 1) -> np.ndarray:
    """ON/OFF events of `image` (uint8 [h, w], h, w <= 34) moved in 3 saccades; t in microseconds."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8 or max(image.shape) > min(SENSOR):
        raise ValueError(f"image must be uint8 [h, w] with h, w <= 34, got {image.dtype} {image.shape}")
    if not threshold > 0 or not eps > 0:
        raise ValueError(f"threshold and eps must be > 0, got {threshold} and {eps}")
    path = saccade_path(step_ms)
    log_i = np.log(render(image, path) + eps)  # [steps, H, W]
    ref = log_i[0].copy()
    chunks = []
    for step in range(1, len(path)):
        delta = log_i[step] - ref
        crossed = np.trunc(delta / threshold)
        ys, xs = np.nonzero(crossed)
        if len(ys):
            ref[ys, xs] += crossed[ys, xs] * threshold
            ev = np.empty(len(ys), dtype=EVENT_DTYPE)
            ev["x"], ev["y"] = xs, ys
            ev["t"] = step * step_ms * 1000
            ev["p"] = crossed[ys, xs] > 0
            chunks.append(ev)
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=EVENT_DTYPE)
