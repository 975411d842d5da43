"""Worker-only code of inference: claiming, the batch runner, running models, streaming, validation.

    engine.py      the device and the per-process cache of loaded models
    batching.py    the dynamic batcher (one thread per loaded model)
    loading.py     an artifact unpacked on this machine and its model loaded
    claim.py       claiming predictions (one conditional UPDATE ... RETURNING)
    execute.py     running predictions through the version's batch runner
    finish.py      finishing them exactly once: outputs, settlement, notifications
    streaming.py   text generation streamed token by token
    validation.py  validating a new version in the sandbox (sandbox.py)
    dispatcher.py  the Redis dispatch: prediction ids popped in bulk from Redis lists, acked after the commit
    lifecycle.py   heartbeats and the lost-message loop (recovery.py)
    process.py     `manage.py inference_worker`: one Celery worker per GPU, else one CPU worker

The web process never imports this package (tests/inference/test_web_process_imports.py): tasks import it
inside their bodies. This `__init__` imports nothing, so the sandbox's child (`python -m
inference.worker.sandbox`) starts without Django.
"""
