"""Routes of the OpenAI-compatible surface, mounted at /openai/v1/."""
from django.urls import path

from . import openai_api

app_name = "openai"
urlpatterns = [
    path("models", openai_api.ModelsApi.as_view(), name="models"),
    path("models/<slug:model>", openai_api.ModelDetailApi.as_view(), name="model"),
    path("embeddings", openai_api.EmbeddingsApi.as_view(), name="embeddings"),
    path("chat/completions", openai_api.ChatCompletionsApi.as_view(), name="chat-completions"),
    path("completions", openai_api.CompletionsApi.as_view(), name="completions"),
]
