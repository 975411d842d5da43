"""Writes for training, web side: datasets, jobs (create, cancel, reap), publishing a result.

One module per topic, re-exported here so callers keep one import (`from training import services`).
Running a job is the worker's part (`training.worker`), which the web process never imports.
"""
from .datasets import dataset_create, dataset_delete, dataset_set_split
from .jobs import hyperparameters_clean, training_job_cancel, training_job_create, training_jobs_reap_stale
from .publish import training_job_publish

__all__ = [
    "dataset_create",
    "dataset_delete",
    "dataset_set_split",
    "hyperparameters_clean",
    "training_job_cancel",
    "training_job_create",
    "training_job_publish",
    "training_jobs_reap_stale",
]
