# %% [markdown]
# ## Event data, as event data
#
# An event camera (a DVS) has no frames and no shutter. Each pixel watches its own brightness and, the
# moment the log-brightness has changed by a fixed step, sends one **event** $(x, y, t, p)$: where, when
# (in microseconds), and the polarity $p$: **ON** ($p = 1$) brighter, **OFF** ($p = 0$) darker. A still
# scene sends nothing; motion sends a stream. Before we turn events into the frames the network eats,
# look at one sample as the sensor delivered it.

# %%
import matplotlib.pyplot as plt

from klif_edu.data import events_to_frames
from klif_edu.data.raw import load_events
from klif_edu.plotting import plot_event_rate, plot_events_3d, plot_frame_strip, plot_polarity

sample = load_events(DATASET, "train", index=0)
ev = sample.events
if sample.simulated:
    print("NOTE:", sample.note)
else:
    print(sample.note)
duration_ms = (ev["t"].max() - ev["t"].min()) / 1000
print(f"class {sample.class_name!r}: {len(ev)} events over {duration_ms:.0f} ms on a "
      f"{sample.sensor_size[0]}x{sample.sensor_size[1]} sensor; {ev['p'].mean():.0%} ON; "
      f"{len(ev) / duration_ms:.0f} events per ms on average")
print("the first five events (x, y, t in us, p):", [tuple(int(v) for v in e) for e in ev[:5]])

# %% [markdown]
# Every event as a dot in space-time: $x$ across, time into the page, $y$ up. A moving edge leaves a
# sheet of events. For a bright object on a dark background (a digit on N-MNIST's screen, say) the ON
# events (red) lie on its leading side, where it arrives and pixels get brighter, and the OFF events
# (blue) on its trailing side, where they get darker. A dark object on a bright background swaps the
# two, and a textured scene mixes them.

# %%
fig = plt.figure(figsize=(12, 4.2), layout="constrained")
plot_events_3d(ev, sample.sensor_size, ax=fig.add_subplot(1, 2, 1, projection="3d"))
plot_polarity(ev, sample.sensor_size, ax=fig.add_subplot(1, 2, 2));

# %% [markdown]
# How many events arrive per millisecond, over the sample: the rate follows the motion (for N-MNIST's
# camera, three saccades of about 100 ms; for a gesture, the moving arm), not a clock.

# %%
plot_event_rate(ev, bin_ms=10);

# %% [markdown]
# ### From events to T frames
#
# A spiking network runs in **time steps**. We cut the stream into **T** slices and count, per pixel and
# polarity, the events in each slice: a frame $[2, H, W]$ per step, so a sample becomes $[T, 2, H, W]$.
# Frame $t$ is the input current at step $t$. Two ways to cut (both in `load_dataset(..., binning=...)`):
#
# * **by event count** (`binning="number"`, the PLIF paper's): every frame gets the same number of events;
#   busy moments get short frames, quiet ones long frames;
# * **by time window** (`binning="time"`): every frame spans the same duration, $1/T$ of the time from the
#   first event to the last (every event is kept: the last ones go into the last frame); the counts follow
#   the rate above.
#
# Same sample, T = 8, both ways (titles: events in each frame):

# %%
T_SHOW = 8
by_number = events_to_frames(ev, sample.sensor_size, T_SHOW, binning="number")
by_time = events_to_frames(ev, sample.sensor_size, T_SHOW, binning="time")
plot_frame_strip(by_number, title=f"binning='number': about {len(ev) // T_SHOW} events per frame")
plot_frame_strip(by_time, title=f"binning='time': {duration_ms / T_SHOW:.0f} ms per frame");
print("events per frame, by number:", by_number.reshape(T_SHOW, -1).sum(1).tolist())
print("events per frame, by time  :", by_time.reshape(T_SHOW, -1).sum(1).tolist())

# %% [markdown]
# **What T means.** A larger T gives finer slices of time (each with fewer events) and more steps for
# the neurons to integrate; a smaller T sums more of the motion into each frame and loses its order.
# Try `T_SHOW = 2` and `T_SHOW = 20` above, and `binning="time"` on a sample whose rate varies.
