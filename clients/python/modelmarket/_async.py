"""The asynchronous client: `modelmarket.AsyncClient`, the same surface with `await` and `async for`."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from . import _base
from ._errors import PredictionFailed
from ._models import ApiKey, App, AsyncPrediction, Balance, Dataset, Quote, TrainingJob, Version


class AsyncClient:
    """Like `Client`, for asyncio: `await client.run(...)`, `async for piece in client.stream(...)`."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 90.0,
                 max_retries: int = 3, http_client: httpx.AsyncClient | None = None) -> None:
        self.api_key, self.base_url = _base.resolve(api_key, base_url)
        self.retry = _base.RetryPolicy(max_retries=max_retries)
        self._http = http_client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                                      headers=_base.headers_for(self.api_key))
        self.predictions = AsyncPredictions(self)
        self.apps = AsyncApps(self)
        self.billing = AsyncBilling(self)
        self.keys = AsyncKeys(self)
        self.datasets = AsyncDatasets(self)
        self.training_jobs = AsyncTrainingJobs(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, *, retry: bool | None = None, **kwargs: Any) -> Any:
        retry = method == "GET" if retry is None else retry
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                if not (retry and self.retry.should_retry(attempt, None)):
                    raise
            if response is not None and not (retry and self.retry.should_retry(attempt, response)):
                return _base.decode(response)
            await asyncio.sleep(self.retry.delay(attempt, response))
            attempt += 1

    async def paginate(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        url: str | None = path
        query = _base.clean(params or {})
        while url:
            page = await self.request("GET", url, params=query or None)
            if isinstance(page, list):
                for item in page:
                    yield item
                return
            for item in page.get("results", []):
                yield item
            url, query = page.get("next"), {}  # `next` carries its own query string

    async def run(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
                  quote_id: str | None = None, max_price: Any = None, auto_quote: bool = True,
                  timeout: float | None = 300.0) -> Any:
        prediction = await self.predictions.create(app, input=input, version=version, quote_id=quote_id,
                                                   max_price=max_price, auto_quote=auto_quote, wait=True)
        if not prediction.done:
            await prediction.wait(timeout=timeout)
        if prediction.status != "succeeded":
            raise PredictionFailed(prediction)
        return prediction.output

    async def stream(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
                     quote_id: str | None = None, max_price: Any = None,
                     auto_quote: bool = True) -> AsyncIterator[Any]:
        prediction = await self.predictions.create(app, input=input, version=version, quote_id=quote_id,
                                                   max_price=max_price, auto_quote=auto_quote, stream=True)
        async for piece in self.predictions.stream(prediction.id):
            yield piece


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncPredictions(_Resource):
    async def create(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
                     quote_id: str | None = None, max_price: Any = None, webhook: str | None = None,
                     webhook_events_filter: list[str] | None = None, stream: bool = False,
                     store: bool | None = None, wait: bool | float = False, auto_quote: bool = True,
                     idempotency_key: str | None = None) -> AsyncPrediction:
        if quote_id is None and max_price is None and auto_quote:
            quote_id = (await self._client.apps.quote(app)).id
        body = _base.prediction_body(input=input, version=version, quote_id=quote_id, max_price=max_price,
                                     webhook=webhook, webhook_events_filter=webhook_events_filter, stream=stream,
                                     store=store)
        headers = {"Idempotency-Key": idempotency_key or _base.new_idempotency_key()}
        if wait:
            headers["Prefer"] = f"wait={60 if wait is True else max(1, min(60, int(wait)))}"
        data = await self._client.request("POST", f"/api/v1/apps/{app}/predictions/", json=body, headers=headers,
                                          retry=True)
        return AsyncPrediction.from_dict(data, _client=self._client)  # type: ignore[return-value]

    async def get(self, id: str) -> AsyncPrediction:  # noqa: A002
        data = await self._client.request("GET", f"/api/v1/predictions/{id}/")
        return AsyncPrediction.from_dict(data, _client=self._client)  # type: ignore[return-value]

    async def list(self, *, app: str | None = None) -> AsyncIterator[AsyncPrediction]:
        async for item in self._client.paginate("/api/v1/predictions/", {"app": app}):
            yield AsyncPrediction.from_dict(item, _client=self._client)  # type: ignore[misc]

    async def cancel(self, id: str) -> AsyncPrediction:  # noqa: A002
        data = await self._client.request("POST", f"/api/v1/predictions/{id}/cancel/", retry=True)
        return AsyncPrediction.from_dict(data, _client=self._client)  # type: ignore[return-value]

    async def stream(self, id: str) -> AsyncIterator[Any]:  # noqa: A002
        decoder = _base.SSEDecoder()
        async with self._client._http.stream("GET", f"/api/v1/predictions/{id}/stream/",
                                             headers={"Accept": "text/event-stream"}) as response:
            if response.status_code >= 400:
                await response.aread()
                _base.decode(response)
            async for line in response.aiter_lines():
                sse = decoder.feed(line.rstrip("\r"))
                if sse is None:
                    continue
                kind, data = _base.stream_piece(sse)
                if kind == "output":
                    yield data
                elif kind == "error":
                    _base.raise_for_error_event(data)
                elif kind == "done":
                    prediction = AsyncPrediction.from_dict(data, _client=self._client)
                    if prediction.status != "succeeded":
                        raise PredictionFailed(prediction)
                    return

    async def _wait(self, id: str, *, timeout: float | None,  # noqa: A002
                    current: AsyncPrediction | None = None) -> AsyncPrediction:
        deadline = None if timeout is None else time.monotonic() + timeout
        prediction = current if current is not None and current.done else await self.get(id)
        delay = 0.05
        while not prediction.done and (deadline is None or time.monotonic() < deadline):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
            prediction = await self.get(id)
        return prediction


class AsyncApps(_Resource):
    async def list(self, *, search: str | None = None, category: str | None = None,
                   ordering: str | None = None) -> AsyncIterator[App]:
        async for item in self._client.paginate("/api/v1/apps/", {"search": search, "category": category,
                                                                  "ordering": ordering}):
            yield App.from_dict(item)

    async def get(self, slug: str) -> App:
        return App.from_dict(await self._client.request("GET", f"/api/v1/apps/{slug}/"))

    async def quote(self, slug: str) -> Quote:
        return Quote.from_dict(await self._client.request("GET", f"/api/v1/apps/{slug}/quote/"))

    async def acquire(self, slug: str) -> dict[str, Any]:
        return await self._client.request("POST", f"/api/v1/apps/{slug}/acquire/")

    async def create(self, *, name: str, tagline: str = "", description: str = "", category: str,
                     pricing: dict[str, Any] | None = None, **extra: Any) -> App:
        body = {"name": name, "tagline": tagline, "description": description, "category": category, **extra}
        if pricing is not None:
            body["pricing"] = pricing
        return App.from_dict(await self._client.request("POST", "/api/v1/apps/", json=body))

    async def upload_version(self, slug: str, artifact: str | Path, *, version: str, task: str, framework: str,
                             hardware: str = "cpu", changelog: str = "", labels: list[str] | None = None) -> Version:
        path = Path(artifact)
        fields = {"version": version, "task": task, "framework": framework, "hardware": hardware,
                  "changelog": changelog}
        if labels:
            fields["labels"] = ",".join(labels)
        content = path.read_bytes()
        data = await self._client.request("POST", f"/api/v1/apps/{slug}/versions/", data=fields,
                                          files={"artifact": (path.name, content)})
        return Version.from_dict(data)

    async def submit(self, slug: str) -> App:
        return App.from_dict(await self._client.request("POST", f"/api/v1/apps/{slug}/submit/"))


class AsyncBilling(_Resource):
    async def balance(self, *, org: str | None = None) -> Balance:
        data = await self._client.request("GET", "/api/v1/billing/balance/", params=_base.clean({"org": org}))
        return Balance.from_dict(data)


class AsyncKeys(_Resource):
    async def list(self) -> AsyncIterator[ApiKey]:
        async for item in self._client.paginate("/api/v1/keys/"):
            yield ApiKey.from_dict(item)

    async def create(self, name: str, *, scopes: list[str] | None = None, spend_cap: Any = None) -> ApiKey:
        body: dict[str, Any] = {"name": name, "scopes": scopes or ["read", "predict"]}
        if spend_cap is not None:
            body["spend_cap"] = str(spend_cap)
        return ApiKey.from_dict(await self._client.request("POST", "/api/v1/keys/", json=body))

    async def revoke(self, id: int) -> None:  # noqa: A002
        await self._client.request("DELETE", f"/api/v1/keys/{id}/")


class AsyncDatasets(_Resource):
    async def upload(self, file: str | Path) -> Dataset:
        path = Path(file)
        data = await self._client.request("POST", "/api/v1/datasets/", files={"file": (path.name, path.read_bytes())})
        return Dataset.from_dict(data)


class AsyncTrainingJobs(_Resource):
    async def create(self, *, base_app: str, base_version: str, dataset: int,
                     hyperparameters: dict[str, Any] | None = None) -> TrainingJob:
        body = {"base_app": base_app, "base_version": base_version, "dataset": dataset,
                "hyperparameters": hyperparameters or {}}
        return TrainingJob.from_dict(await self._client.request("POST", "/api/v1/training-jobs/", json=body))

    async def get(self, id: int) -> TrainingJob:  # noqa: A002
        return TrainingJob.from_dict(await self._client.request("GET", f"/api/v1/training-jobs/{id}/"))
