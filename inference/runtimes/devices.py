"""What this machine offers the runtimes: CUDA GPUs for torch, GPUs for TensorFlow, found without importing either.

`manage.py inference_worker` asks this before it starts its workers. Importing torch and TensorFlow to count GPUs
cost that process ~9 s and ~870 MB on a 2-core host (README, "Scaling out and operations"), so a host that joined
late took that long to take work. Instead:

- the NVIDIA driver lists its GPUs in `/proc/driver/nvidia/gpus/` (one folder each), else `nvidia-smi -L`;
- `CUDA_VISIBLE_DEVICES` narrows them as the CUDA runtime does (an empty value or `-1` hides them all);
- a framework counts them only if its installed build has CUDA, read from its build files, not imported
  (`torch/version.py`, `tensorflow/python/platform/build_info.py`); not installed counts 0.

A process that already imported torch or TensorFlow (a benchmark script) asks the framework itself.
TensorFlow's memory growth is set where TensorFlow runs, in the worker (`keras_runtime`, TF_FORCE_GPU_ALLOW_GROWTH).
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

NVIDIA_GPUS_DIR = Path("/proc/driver/nvidia/gpus")


def detect_devices() -> dict:
    """What this machine offers: `{"torch_cuda": n, "tf_gpus": m}`, without importing torch or TensorFlow."""
    gpus: int | None = None

    def visible_gpus() -> int:
        nonlocal gpus
        if gpus is None:
            gpus = visible_nvidia_gpus()
        return gpus

    found = {"torch_cuda": 0, "tf_gpus": 0}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        found["torch_cuda"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
    elif _cuda_build("torch"):
        found["torch_cuda"] = visible_gpus()
    if "tensorflow" in sys.modules:
        found["tf_gpus"] = len(sys.modules["tensorflow"].config.list_physical_devices("GPU"))
    elif _cuda_build("tensorflow"):
        found["tf_gpus"] = visible_gpus()
    return found


def nvidia_gpu_count() -> int:
    """GPUs the NVIDIA driver knows on this machine (0 without a driver)."""
    try:
        count = sum(1 for entry in NVIDIA_GPUS_DIR.iterdir() if entry.is_dir())
    except OSError:
        count = 0
    if count:
        return count
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return 0
    if listed.returncode != 0:
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def visible_nvidia_gpus(physical: int | None = None) -> int:
    """GPUs a CUDA process started here would see: the driver's, narrowed by CUDA_VISIBLE_DEVICES.

    As CUDA reads the variable: entries up to the first invalid one count (an index past the last GPU, `-1`,
    anything else); `GPU-…`/`MIG-…` identifiers count as given.
    """
    count = nvidia_gpu_count() if physical is None else physical
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None or not count:
        return count
    visible = 0
    for entry in value.split(","):
        entry = entry.strip()
        if entry.startswith(("GPU-", "MIG-")) or (entry.isdigit() and int(entry) < count):
            visible += 1
        else:
            break
    return min(visible, count)


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)  # a top-level name: finds the package, runs none of it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _cuda_build(name: str) -> bool:
    """Whether the installed `torch` / `tensorflow` was built with CUDA (False when it is not installed)."""
    folder = _package_dir(name)
    if folder is None:
        return False
    try:
        if name == "torch":
            text = (folder / "version.py").read_text()
            match = re.search(r"^cuda\b[^=\n]*=\s*(.+)$", text, flags=re.MULTILINE)
            return match is not None and match.group(1).strip() not in ("None", "''", '""')
        text = (folder / "python" / "platform" / "build_info.py").read_text()
        return re.search(r"""['"]is_cuda_build['"]\s*[,:]\s*True""", text) is not None
    except OSError:
        # Build files not where this version keeps them: assume CUDA and let the driver's count decide.
        return True
