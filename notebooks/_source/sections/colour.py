# ---
# Colour images (CIFAR-10): inserted after "A first look at the data". Relies on `plan`.
# ---

# %% [markdown]
# ### Colour: three numbers per pixel
#
# A colour photo reaches the network as **three channels** (red, green, blue), each normalised with its
# own mean and standard deviation. The first convolution sees all three at once: each of its kernels has a
# 3×3 patch *per channel*, so it can respond to colour as well as to shape. Below, one image and its three
# channels as the network receives them (blue: below the channel's mean, red: above).
# When CIFAR-10 is not on disk the stand-in is grey, with a single channel: the title says which.

# %%
from klif_edu.training_plots import show_channels

show_channels(plan.train_dataset);
