"""Data protection: retention, `store: false`, data export, account deletion, encryption-key rotation.

The top layer: it reads every app (accounts, marketplace, billing, inference, community, training) and no app
imports it. The erase primitive for predictions lives in `inference.erasure`, which inference's own answer paths
call; `privacy.services.prediction_forget` is the public service built on it.
"""
