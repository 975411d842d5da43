"""Device detection without importing torch or TensorFlow (issue 15), and one worker per GPU pinned with
CUDA_VISIBLE_DEVICES. The GPU path is driven with a fake driver folder, a fake `nvidia-smi` and fake builds."""
import subprocess
import sys
from pathlib import Path

import pytest

from inference.runtimes import devices
from inference.worker import process


@pytest.fixture
def no_frameworks_loaded(monkeypatch):
    """Detection as `inference_worker` runs it: neither framework imported (other tests may have loaded them)."""
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.fixture
def fake_driver(monkeypatch, tmp_path):
    """A driver folder with two GPUs, and no nvidia-smi on PATH."""
    gpus = tmp_path / "gpus"
    for bus in ("0000:17:00.0", "0000:65:00.0"):
        (gpus / bus).mkdir(parents=True)
    monkeypatch.setattr(devices, "NVIDIA_GPUS_DIR", gpus)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return gpus


def test_this_cpu_machine_detects_what_the_frameworks_said_without_importing_them(no_frameworks_loaded):
    code = ("import sys; from inference.runtimes.devices import detect_devices; print(detect_devices()); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2], check=True).stdout.splitlines()
    if not devices.nvidia_gpu_count():
        assert answer[0] == "{'torch_cuda': 0, 'tf_gpus': 0}"
    assert answer[1] == "[]"


def test_cuda_builds_count_the_driver_gpus(no_frameworks_loaded, fake_driver, monkeypatch):
    monkeypatch.setattr(devices, "_cuda_build", lambda name: True)
    assert devices.detect_devices() == {"torch_cuda": 2, "tf_gpus": 2}
    monkeypatch.setattr(devices, "_cuda_build", lambda name: name == "torch")  # a CPU-only TensorFlow
    assert devices.detect_devices() == {"torch_cuda": 2, "tf_gpus": 0}
    monkeypatch.setattr(devices, "_cuda_build", lambda name: False)  # CPU-only builds see no GPU
    assert devices.detect_devices() == {"torch_cuda": 0, "tf_gpus": 0}


@pytest.mark.parametrize(("visible", "count"), [("", 0), ("-1", 0), ("1", 1), ("1,0", 2), ("0,5,1", 1), ("5", 0),
                                                ("GPU-8a1b2c3d", 1), (" 0 , 1 ", 2), ("0,1,1,0", 2)])
def test_cuda_visible_devices_narrows_them_as_cuda_does(no_frameworks_loaded, fake_driver, monkeypatch, visible,
                                                        count):
    monkeypatch.setattr(devices, "_cuda_build", lambda name: True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert devices.detect_devices()["torch_cuda"] == count


def test_without_the_driver_folder_nvidia_smi_is_asked(no_frameworks_loaded, monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "NVIDIA_GPUS_DIR", tmp_path / "absent")
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H200 (UUID: GPU-0a)'\necho 'GPU 1: NVIDIA H200 (UUID: GPU-0b)'\n"
                   "echo '  MIG 1g.18gb Device 0: (UUID: MIG-0c)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(smi.parent))
    assert devices.nvidia_gpu_count() == 2
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")  # a driver/library mismatch
    assert devices.nvidia_gpu_count() == 0
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert devices.nvidia_gpu_count() == 0


def test_the_installed_builds_are_read_from_their_files():
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        torch_version = (devices._package_dir("torch") / "version.py").read_text()
        assert devices._cuda_build("torch") is ("cuda: Optional[str] = None" not in torch_version)
    assert devices._cuda_build("no_such_framework_here") is False


def test_a_process_that_already_imported_torch_asks_torch(no_frameworks_loaded, fake_driver, monkeypatch):
    class Cuda:
        @staticmethod
        def is_available():
            return True

        @staticmethod
        def device_count():
            return 1

    class Torch:
        cuda = Cuda

    monkeypatch.setitem(sys.modules, "torch", Torch)
    monkeypatch.setattr(devices, "_cuda_build", lambda name: False)
    assert devices.detect_devices() == {"torch_cuda": 1, "tf_gpus": 0}


def test_one_worker_per_gpu_pinned_with_cuda_visible_devices(monkeypatch):
    started = []

    class FakePopen:
        def __init__(self, command, env):
            started.append((command, env))

        def wait(self):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr(process, "detect_devices", lambda: {"torch_cuda": 2, "tf_gpus": 2})
    monkeypatch.setattr(process.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(process.signal, "signal", lambda *args: None)
    lines = []
    code = process.run_workers(concurrency=8, cpu_queue=False, extra_queues="", side_queues="webhooks,validation",
                               loglevel="INFO", write=lines.append)
    assert code == 0 and lines == ["devices: {'torch_cuda': 2, 'tf_gpus': 2}"]
    workers = [(command[command.index("-n") + 1], command[command.index("-Q") + 1], env["CUDA_VISIBLE_DEVICES"],
                env["MODELMARKET_INFERENCE_DEVICE"], env["TF_FORCE_GPU_ALLOW_GROWTH"]) for command, env in started]
    assert workers == [("gpu0@%h", "inference-gpu", "0", "cuda:0", "true"),
                       ("gpu1@%h", "inference-gpu", "1", "cuda:0", "true"),
                       ("side@%h", "webhooks,validation", "", "cpu", "true")]
