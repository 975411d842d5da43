"""What this machine offers the runtimes: CUDA GPUs for torch, GPUs for TensorFlow."""


def detect_devices() -> dict:
    """What this machine offers: CUDA GPUs for torch, GPUs for TensorFlow (memory growth on)."""
    found = {"torch_cuda": 0, "tf_gpus": 0}
    try:
        import torch

        found["torch_cuda"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        pass
    try:
        from .keras_runtime import tf_enable_memory_growth

        found["tf_gpus"] = tf_enable_memory_growth()
    except ImportError:
        pass
    return found
