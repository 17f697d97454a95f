"""Library noise that tells a student nothing: filtered at its source, only where it is noise.

    quiet_cpu_only_noise()    # done on import of klif_edu (klif_edu.compiler)

On a machine without a GPU, torch built for CUDA logs at its first compile
``W... torch/utils/cpp_extension.py] No CUDA runtime is found, using CUDA_HOME='/usr/local'``
(it found ``nvcc`` or ``CUDA_HOME`` but no GPU). That is the expected state of a CPU laptop, not
a fault, so this one record is dropped when no CUDA device is usable; every other message of that
logger, and this one on a machine where CUDA works, passes as before.
"""
from __future__ import annotations

import logging

__all__ = ["CUDA_HOME_LOGGER", "CUDA_HOME_NOTICE", "CpuOnlyCudaHomeFilter", "quiet_cpu_only_noise"]

CUDA_HOME_LOGGER = "torch.utils.cpp_extension"
CUDA_HOME_NOTICE = "No CUDA runtime is found"


class CpuOnlyCudaHomeFilter(logging.Filter):
    """Drops torch's "No CUDA runtime is found" record, and only while no CUDA device is usable."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(CUDA_HOME_NOTICE):
            return True
        import torch

        return bool(torch.cuda.is_available())  # torch logs it only when False; be sure all the same


def quiet_cpu_only_noise() -> None:
    """Install the filter on torch's cpp_extension logger (once; before torch imports that module)."""
    logger = logging.getLogger(CUDA_HOME_LOGGER)
    if not any(isinstance(f, CpuOnlyCudaHomeFilter) for f in logger.filters):
        logger.addFilter(CpuOnlyCudaHomeFilter())
