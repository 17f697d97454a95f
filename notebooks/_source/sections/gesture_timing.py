# %% [markdown]
# ### Why timing matters for gestures
#
# "Right arm clockwise" and "right arm counter-clockwise" move the same arm over the same circle. Summed
# over the whole sample, their events light up nearly the same pixels; what tells them apart is **the
# order** in which those pixels fire. A network that only saw the summed image could not separate them:
# it needs the frames in time, and neurons whose state carries from step to step.

# %%
import numpy as np

from klif_edu.data import events_to_frames
from klif_edu.data.raw import load_events, rotation_events
from klif_edu.plotting import plot_frame_strip

real = load_events(DATASET, "test", index=0, label=3)
if real.simulated:
    print("NOTE: DVS128-Gesture is not on disk, so the two gestures below are SIMULATED: a dot circling "
          "a 34x34 sensor clockwise and counter-clockwise (klif_edu.data.raw.rotation_events).")
    pair = {"clockwise (simulated)": rotation_events(clockwise=True),
            "counter-clockwise (simulated)": rotation_events(clockwise=False)}
    size = (34, 34, 2)
else:
    other = load_events(DATASET, "test", index=0, label=4)
    pair = {real.class_name: real.events, other.class_name: other.events}
    size = real.sensor_size
frames = {name: events_to_frames(e, size, 8, binning="time").astype(np.float64) for name, e in pair.items()}
for name, f in frames.items():
    plot_frame_strip(f, title=f"{name}: 8 frames in time")

# %% [markdown]
# Summed over time the two look alike; frame by frame they do not. The numbers: the correlation of the
# two summed images, and of the two frame sequences compared step by step.

# %%
a, b = frames.values()
summed = np.corrcoef(a.sum(0).ravel(), b.sum(0).ravel())[0, 1]
in_time = np.corrcoef(a.ravel(), b.ravel())[0, 1]
reversed_ = np.corrcoef(a[::-1, ::-1].ravel(), b.ravel())[0, 1]  # backwards: frames reversed, ON <-> OFF
print(f"correlation of the summed images       : {summed:.2f}")
print(f"correlation of the frames, step by step: {in_time:.2f}")
print(f"... with the first one played backwards: {reversed_:.2f}")

# %% [markdown]
# Played backwards (frames in reverse order, and ON and OFF swapped, since brightening run backwards is
# darkening), one rotation looks much more like the other: time reversal turns clockwise into counter-clockwise. That is information that lives only in *when* events happen, which is why event
# datasets are given to spiking networks as T frames in order, and why T matters.
