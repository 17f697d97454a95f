"""Datasets for klif-edu: static images via torchvision, events via tonic, small embedded sets.

    from klif_edu.data import load_dataset, encode, DATASETS
    train = load_dataset("embedded-fashion-mnist", "train")   # offline, ships with the repo
    x, y = train[0]                    # x: float32 [1, 28, 28] normalised, y: int
    x_seq = encode(x[None], 8)         # [T=8, N=1, 1, 28, 28], direct encoding (the paper's)
    frames, y = load_dataset("embedded-events", "test")[0]    # frames: float32 [T, 2, 34, 34]

Files go under data_root(): the data_dir argument, else $KLIF_EDU_DATA, else <repo>/data in a
checkout, else the user's cache folder (klif_edu.places); a read-only data folder is only read.
`fetch(name)` downloads one (checked, atomic, resumable); `download_file(url, dest, md5)` any one file.
A dataset that is neither on disk
nor downloadable raises DatasetMissing, whose message
says which files to put where.
"""
from .encoding import ENCODINGS, encode
from .fetch import DownloadError, download_file, download_size, fetch
from .frames import BINNINGS, FrameDataset, events_to_frames
from .loader import LimitedDataset, dataset_status, load_dataset
from .registry import DATASETS, DatasetMissing, DatasetSpec, data_root, get_spec
from .static import ImageTensors
from .timing import TimingComparison, play_backwards, similarity, timing_comparison

__all__ = [
    "DatasetSpec", "DATASETS", "DatasetMissing", "data_root", "get_spec", "load_dataset",
    "dataset_status", "encode", "ENCODINGS", "events_to_frames", "BINNINGS", "FrameDataset",
    "ImageTensors", "LimitedDataset", "fetch", "download_size", "download_file", "DownloadError",
    "similarity", "play_backwards", "TimingComparison", "timing_comparison",
]
