# %% [markdown]
# ### Why timing matters for gestures
#
# "Right arm clockwise" and "right arm counter-clockwise" move the same arm over the same circle. Summed
# over the whole sample, their events light up nearly the same pixels; what tells them apart is **the
# order** in which those pixels fire. A network that only saw the summed image could not separate them:
# it needs the frames in time, and neurons whose state carries from step to step.

# %%
from klif_edu.data import events_to_frames, timing_comparison
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
frames = {name: events_to_frames(e, size, 8, binning="time") for name, e in pair.items()}
for name, f in frames.items():
    plot_frame_strip(f, title=f"{name}: 8 frames in time")

# %% [markdown]
# How alike are the two? We compare their event counts with the *cosine similarity* (1: the same pattern,
# 0: no event where the other has one). Pixels where neither has events do not count, so the large empty
# background does not make the two look alike. Three comparisons: the images summed over time, the frames
# step by step, and the first sample played backwards (frames in reverse order, ON and OFF swapped, since
# brightening run backwards is darkening). The sentences under the numbers are computed from them.

# %%
(name_a, a), (name_b, b) = frames.items()
comparison = timing_comparison(a, b)
print(comparison.describe(name_a, name_b))

# %% [markdown]
# **Simulated or recorded?** On the SIMULATED pair two of these results hold *by construction*: the
# simulator draws counter-clockwise as clockwise mirrored left-right (so the summed images match), and
# clockwise played backwards *is* counter-clockwise (so the backwards similarity is 1). There they show what
# the measure does, not a finding. On real DVS128 Gesture recordings (two people's arms, at their own
# speed and place) nothing forces either; the numbers and the sentences above are then measured. Either
# way, the difference lives in *when* events happen, which is why event datasets are given to spiking
# networks as T frames in order, and why T matters.
