"""The synchronous client: `modelmarket.Client`."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from . import _base
from ._errors import PredictionFailed
from ._models import ApiKey, App, Balance, Dataset, Prediction, Quote, TrainingJob, Version
from ._progress import ReadProgress, job_detail, training_progress, upload_progress


class Client:
    """A ModelMarket API client.

    `api_key` and `base_url` default from MODELMARKET_API_KEY and MODELMARKET_BASE_URL (then from the file that
    `modelmarket login` wrote; the base URL finally defaults to http://127.0.0.1:8000).
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 90.0,
                 max_retries: int = 3, http_client: httpx.Client | None = None) -> None:
        self.api_key, self.base_url = _base.resolve(api_key, base_url)
        self.retry = _base.RetryPolicy(max_retries=max_retries)
        self._http = http_client or httpx.Client(base_url=self.base_url, timeout=timeout,
                                                 headers=_base.headers_for(self.api_key))
        self.predictions = Predictions(self)
        self.apps = Apps(self)
        self.billing = Billing(self)
        self.keys = Keys(self)
        self.datasets = Datasets(self)
        self.training_jobs = TrainingJobs(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plumbing -------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, retry: bool | None = None, **kwargs: Any) -> Any:
        """Send a request and decode the JSON answer; retries GETs (and idempotent POSTs) on transient errors."""
        retry = method == "GET" if retry is None else retry
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                if not (retry and self.retry.should_retry(attempt, None)):
                    raise
            if response is not None and not (retry and self.retry.should_retry(attempt, response)):
                return _base.decode(response)
            time.sleep(self.retry.delay(attempt, response))
            attempt += 1

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following `next` links page by page."""
        url: str | None = path
        query = _base.clean(params or {})
        while url:
            page = self.request("GET", url, params=query or None)
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            yield from page.get("results", [])
            url, query = page.get("next"), {}  # `next` carries its own query string

    # --- the two-line surface -------------------------------------------------------------------------------

    def run(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
            quote_id: str | None = None, max_price: Any = None, auto_quote: bool = True,
            timeout: float | None = 300.0) -> Any:
        """Run `app` on `input`, wait for it and return its output; raises PredictionFailed if it fails."""
        prediction = self.predictions.create(app, input=input, version=version, quote_id=quote_id,
                                             max_price=max_price, auto_quote=auto_quote, wait=True)
        if not prediction.done:
            prediction.wait(timeout=timeout)
        if prediction.status != "succeeded":
            raise PredictionFailed(prediction)
        return prediction.output

    def stream(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
               quote_id: str | None = None, max_price: Any = None, auto_quote: bool = True) -> Iterator[Any]:
        """Run `app` and yield its output as it arrives: text pieces for text generation, else the output."""
        prediction = self.predictions.create(app, input=input, version=version, quote_id=quote_id,
                                             max_price=max_price, auto_quote=auto_quote, stream=True)
        yield from self.predictions.stream(prediction.id)


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Predictions(_Resource):
    """Create, read, list, cancel and stream predictions."""

    def create(self, app: str, *, input: dict[str, Any], version: str | None = None,  # noqa: A002
               quote_id: str | None = None, max_price: Any = None, webhook: str | None = None,
               webhook_events_filter: list[str] | None = None, stream: bool = False, store: bool | None = None,
               wait: bool | float = False, auto_quote: bool = True, idempotency_key: str | None = None) -> Prediction:
        """Start a prediction. Without `quote_id` or `max_price` a quote is fetched first (`auto_quote`).

        `wait=True` (or a number of seconds, at most 60) asks the server to answer when it is done.
        An `Idempotency-Key` is sent (and reused on retries) so a retried call never runs twice.
        """
        if quote_id is None and max_price is None and auto_quote:
            quote_id = self._client.apps.quote(app).id
        body = _base.prediction_body(input=input, version=version, quote_id=quote_id, max_price=max_price,
                                     webhook=webhook, webhook_events_filter=webhook_events_filter, stream=stream,
                                     store=store)
        headers = {"Idempotency-Key": idempotency_key or _base.new_idempotency_key()}
        if wait:
            headers["Prefer"] = f"wait={60 if wait is True else max(1, min(60, int(wait)))}"
        data = self._client.request("POST", f"/api/v1/apps/{app}/predictions/", json=body, headers=headers,
                                    retry=True)
        return Prediction.from_dict(data, _client=self._client)

    def get(self, id: str) -> Prediction:  # noqa: A002
        return Prediction.from_dict(self._client.request("GET", f"/api/v1/predictions/{id}/"), _client=self._client)

    def list(self, *, app: str | None = None) -> Iterator[Prediction]:
        """All the caller's predictions, newest first, across every page."""
        for item in self._client.paginate("/api/v1/predictions/", {"app": app}):
            yield Prediction.from_dict(item, _client=self._client)

    def cancel(self, id: str) -> Prediction:  # noqa: A002
        data = self._client.request("POST", f"/api/v1/predictions/{id}/cancel/", retry=True)
        return Prediction.from_dict(data, _client=self._client)

    def stream(self, id: str) -> Iterator[Any]:  # noqa: A002
        """Yield the pieces of a prediction's output from its Server-Sent Events stream."""
        decoder = _base.SSEDecoder()
        with self._client._http.stream("GET", f"/api/v1/predictions/{id}/stream/",
                                       headers={"Accept": "text/event-stream"}) as response:
            if response.status_code >= 400:
                response.read()
                _base.decode(response)
            for sse in decoder.iter(response.iter_lines()):
                kind, data = _base.stream_piece(sse)
                if kind == "output":
                    yield data
                elif kind == "error":
                    _base.raise_for_error_event(data)
                elif kind == "done":
                    prediction = Prediction.from_dict(data, _client=self._client)
                    if prediction.status != "succeeded":
                        raise PredictionFailed(prediction)
                    return

    def _wait(self, id: str, *, timeout: float | None, current: Prediction | None = None) -> Prediction:  # noqa: A002
        deadline = None if timeout is None else time.monotonic() + timeout
        prediction = current if current is not None and current.done else self.get(id)
        delay = 0.05
        while not prediction.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
            prediction = self.get(id)
        return prediction


class Apps(_Resource):
    """The store: list, read, quote, acquire; and for developers create, upload versions, submit."""

    def list(self, *, search: str | None = None, category: str | None = None,
             ordering: str | None = None) -> Iterator[App]:
        for item in self._client.paginate("/api/v1/apps/", {"search": search, "category": category,
                                                            "ordering": ordering}):
            yield App.from_dict(item)

    def get(self, slug: str) -> App:
        return App.from_dict(self._client.request("GET", f"/api/v1/apps/{slug}/"))

    def quote(self, slug: str) -> Quote:
        """The price of your next call, held for a short while: pass `.id` as `quote_id`."""
        return Quote.from_dict(self._client.request("GET", f"/api/v1/apps/{slug}/quote/"))

    def acquire(self, slug: str) -> dict[str, Any]:
        """Add the app to your library (paid apps raise PaymentRequiredError with `.checkout_url`)."""
        return self._client.request("POST", f"/api/v1/apps/{slug}/acquire/")

    def create(self, *, name: str, tagline: str = "", description: str = "", category: str,
               pricing: dict[str, Any] | None = None, **extra: Any) -> App:
        body = {"name": name, "tagline": tagline, "description": description, "category": category, **extra}
        if pricing is not None:
            body["pricing"] = pricing
        return App.from_dict(self._client.request("POST", "/api/v1/apps/", json=body))

    def update(self, slug: str, **fields: Any) -> App:
        return App.from_dict(self._client.request("PATCH", f"/api/v1/apps/{slug}/", json=fields))

    def versions(self, slug: str) -> list[Version]:
        data = self._client.request("GET", f"/api/v1/apps/{slug}/versions/")
        items = data.get("results", []) if isinstance(data, dict) else data
        return [Version.from_dict(item) for item in items]

    def get_version(self, slug: str, version: str) -> Version:
        return Version.from_dict(self._client.request("GET", f"/api/v1/apps/{slug}/versions/{version}/"))

    def upload_version(self, slug: str, artifact: str | Path, *, version: str, task: str, framework: str,
                       hardware: str = "cpu", changelog: str = "", labels: list[str] | None = None,
                       progress: bool | None = None) -> Version:
        """Upload a model (a .zip of a transformers folder or a .keras file); a progress bar on a terminal."""
        path = Path(artifact)
        fields = {"version": version, "task": task, "framework": framework, "hardware": hardware,
                  "changelog": changelog}
        if labels:
            fields["labels"] = ",".join(labels)
        show = _base.is_tty() if progress is None else progress
        with path.open("rb") as handle:
            if not show:
                data = self._client.request("POST", f"/api/v1/apps/{slug}/versions/", data=fields,
                                            files={"artifact": (path.name, handle)})
            else:
                with upload_progress() as bar:
                    task_id = bar.add_task(f"Uploading {path.name}", total=path.stat().st_size)
                    wrapped = ReadProgress(handle, bar, task_id)
                    data = self._client.request("POST", f"/api/v1/apps/{slug}/versions/", data=fields,
                                                files={"artifact": (path.name, wrapped)})
        return Version.from_dict(data)

    def submit(self, slug: str) -> App:
        """Send a draft with a ready version to review."""
        return App.from_dict(self._client.request("POST", f"/api/v1/apps/{slug}/submit/"))


class Billing(_Resource):
    def balance(self, *, org: str | None = None) -> Balance:
        data = self._client.request("GET", "/api/v1/billing/balance/", params=_base.clean({"org": org}))
        return Balance.from_dict(data)

    def ledger(self) -> Iterator[dict[str, Any]]:
        yield from self._client.paginate("/api/v1/billing/ledger/")


class Keys(_Resource):
    def list(self) -> Iterator[ApiKey]:
        for item in self._client.paginate("/api/v1/keys/"):
            yield ApiKey.from_dict(item)

    def create(self, name: str, *, scopes: list[str] | None = None, spend_cap: Any = None,
               org: str | None = None) -> ApiKey:
        body: dict[str, Any] = {"name": name, "scopes": scopes or ["read", "predict"]}
        if spend_cap is not None:
            body["spend_cap"] = str(spend_cap)
        if org:
            body["org"] = org
        return ApiKey.from_dict(self._client.request("POST", "/api/v1/keys/", json=body))

    def revoke(self, id: int) -> None:  # noqa: A002
        self._client.request("DELETE", f"/api/v1/keys/{id}/")


class Datasets(_Resource):
    def upload(self, file: str | Path, *, progress: bool | None = None) -> Dataset:
        """Upload a CSV or JSONL file with `text` and `label` columns."""
        path = Path(file)
        show = _base.is_tty() if progress is None else progress
        with path.open("rb") as handle:
            if not show:
                data = self._client.request("POST", "/api/v1/datasets/", files={"file": (path.name, handle)})
            else:
                with upload_progress() as bar:
                    task_id = bar.add_task(f"Uploading {path.name}", total=path.stat().st_size)
                    data = self._client.request("POST", "/api/v1/datasets/",
                                                files={"file": (path.name, ReadProgress(handle, bar, task_id))})
        return Dataset.from_dict(data)

    def get(self, id: int) -> Dataset:  # noqa: A002
        return Dataset.from_dict(self._client.request("GET", f"/api/v1/datasets/{id}/"))


class TrainingJobs(_Resource):
    def create(self, *, base_app: str, base_version: str, dataset: int,
               hyperparameters: dict[str, Any] | None = None, **extra: Any) -> TrainingJob:
        body = {"base_app": base_app, "base_version": base_version, "dataset": dataset,
                "hyperparameters": hyperparameters or {}, **extra}
        return TrainingJob.from_dict(self._client.request("POST", "/api/v1/training-jobs/", json=body),
                                     _client=self._client)

    def get(self, id: int) -> TrainingJob:  # noqa: A002
        return TrainingJob.from_dict(self._client.request("GET", f"/api/v1/training-jobs/{id}/"), _client=self._client)

    def cancel(self, id: int) -> TrainingJob:  # noqa: A002
        return TrainingJob.from_dict(self._client.request("POST", f"/api/v1/training-jobs/{id}/cancel/"),
                                     _client=self._client)

    def _wait(self, job: TrainingJob, *, timeout: float | None, progress: bool, poll: float) -> TrainingJob:
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = training_progress() if progress else None
        task_id = bar.add_task(f"Training job {job.id}", total=1.0, detail="") if bar else None
        try:
            if bar:
                bar.start()
            while True:
                job.reload()
                if bar:
                    bar.update(task_id, completed=float(job.progress or 0), detail=f"{job.status}  "
                               f"{job_detail(job.metrics)}")
                if job.done or (deadline is not None and time.monotonic() >= deadline):
                    return job
                time.sleep(poll)
        finally:
            if bar:
                bar.stop()
