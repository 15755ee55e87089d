"""tinytorch.allocator: freed array memory is reused without page faults on glibc, and the user can opt out."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tinytorch import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Eight 1 MiB arrays allocated and freed ten times, as a training step does with its
# activations: the page faults of the last nine rounds (the first one may fault).
CHURN = """
import resource, sys
import numpy as np
if sys.argv[1] == "tinytorch":
    import tinytorch
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def round_trip():
    arrays = [np.ones(2**18, dtype=np.float32) for _ in range(8)]
    del arrays
round_trip()
start = faults()
for _ in range(9):
    round_trip()
print(faults() - start)
"""


def churn_faults(importing: str, **env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k not in allocator.USER_SETTINGS}
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", CHURN, importing], capture_output=True, text=True,
                          env=environment, timeout=60, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's; elsewhere keep_freed_memory does nothing")
def test_import_keeps_freed_memory_for_reuse():
    # 9 rounds of 8 MiB are 18,432 pages: without the setting glibc trims and faults them back in
    assert churn_faults("numpy") > 4000
    assert churn_faults("tinytorch") < 200


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's; elsewhere keep_freed_memory does nothing")
def test_user_malloc_settings_win():
    assert churn_faults("tinytorch", MALLOC_TRIM_THRESHOLD_="131072") > 4000


def test_keep_freed_memory_reports_what_it_did(monkeypatch):
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")
    assert allocator.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TOP_PAD_")
    assert allocator.keep_freed_memory() is GLIBC
