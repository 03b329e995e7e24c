"""What the manifest says of the environment the numbers were made in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _kernels(env: dict[str, str]) -> dict[str, str | None]:
    code = "import json; from trial_outcomes.provenance import blas_kernels; print(json.dumps(blas_kernels()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_the_manifest_names_the_blas_kernel_the_models_ran_on():
    """numpy's and scipy's wheels bundle OpenBLAS, which picks a kernel for the CPU; the
    Cox and Fine-Gray statistics differ in their 11th-16th significant digit between
    kernels (0.9520921904156102 on Haswell, ...103 on SkylakeX for one HR's upper
    limit), so the manifest names it. OPENBLAS_CORETYPE chooses it: Haswell, which every
    x86-64 CPU this runs on has, is named as set."""
    from trial_outcomes.provenance import environment

    said = environment()
    assert set(said["blas_kernels"]) == {"numpy", "scipy"}
    if os.uname().machine != "x86_64" or said["blas_kernels"]["numpy"] is None:
        pytest.skip("numpy's wheel here bundles no x86-64 OpenBLAS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS")}
    assert _kernels({**env, "OPENBLAS_CORETYPE": "Haswell"}) == {"numpy": "Haswell", "scipy": "Haswell"}
