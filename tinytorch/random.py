"""The one random generator behind ``randn``, ``rand``, ``randint``, ``randperm`` and ``normal_``/``uniform_``.

``manual_seed(seed)`` reseeds it in place, so every holder of
``default_generator`` sees the new stream (PyTorch's ``torch.manual_seed``).
Like PyTorch's, it starts from a fixed seed: a script that never seeds still
draws the same numbers on every run.
"""

from __future__ import annotations

import numpy as np

INITIAL_SEED = 0
default_generator = np.random.default_rng(INITIAL_SEED)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator; returns it (PyTorch returns its generator too)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed needs a non-negative int, got {seed!r}")
    default_generator.bit_generator.state = np.random.PCG64(int(seed)).state
    return default_generator
