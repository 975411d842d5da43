"""ModelMarket's Python client: run, stream, publish and fine-tune model apps.

    import modelmarket
    print(modelmarket.Client().run("faq-search", input={"text": "Where is my order?"}))
"""
from . import webhooks
from ._async import AsyncClient
from ._client import Client
from ._errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    ModelMarketError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    PredictionFailed,
    RateLimitError,
    ServerError,
    WebhookVerificationError,
)
from ._models import ApiKey, App, AsyncPrediction, Balance, Dataset, Prediction, Quote, TrainingJob, Version

__version__ = "0.1.0"
__all__ = [
    "APIError", "ApiKey", "App", "AsyncClient", "AsyncPrediction", "AuthenticationError", "Balance", "Client",
    "ConflictError", "Dataset", "InvalidRequestError", "ModelMarketError", "NotFoundError", "PaymentRequiredError",
    "PermissionDeniedError", "Prediction", "PredictionFailed", "Quote", "RateLimitError", "ServerError",
    "TrainingJob", "Version", "WebhookVerificationError", "webhooks",
]
