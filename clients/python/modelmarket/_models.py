"""Objects the API answers with. Each keeps the full JSON in `.raw` (extra fields are welcome in API.md)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from ._async import AsyncClient
    from ._client import Client

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
T = TypeVar("T", bound="Model")


@dataclass
class Model:
    """Common base: `from_dict` takes the API's JSON, `.raw` keeps all of it."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: the OpenAPI component this model mirrors (checked against /api/schema/ in the platform's tests)
    schema_name: ClassVar[str] = ""
    #: JSON names that differ from the attribute names
    renames: ClassVar[dict[str, str]] = {}

    @classmethod
    def api_fields(cls) -> list[str]:
        """The JSON field names this model reads."""
        return [cls.renames.get(f.name, f.name) for f in dataclasses.fields(cls) if f.name != "raw"]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
        values = {f.name: data.get(cls.renames.get(f.name, f.name)) for f in dataclasses.fields(cls) if f.name != "raw"}
        obj = cls(raw=dict(data), **values)
        for key, value in extra.items():
            setattr(obj, key, value)
        return obj


@dataclass
class Prediction(Model):
    """A run of an app: `status` goes queued → starting → processing → succeeded | failed | canceled."""

    schema_name: ClassVar[str] = "Prediction"
    id: str = ""
    app: str = ""
    version: str | None = None
    status: str = "queued"
    input: Any = None
    output: Any = None
    error: str | None = None
    logs: str | None = None
    price: str | None = None
    currency: str | None = None
    metrics: dict[str, Any] | None = None
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    urls: dict[str, str] | None = None
    # Data protection: `store=False` answers once; `data_removed` once input and output were erased.
    store: bool | None = None
    data_removed: bool | None = None
    _client: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def api_fields(cls) -> list[str]:
        return [name for name in super().api_fields() if name != "_client"]

    @classmethod
    def from_dict(cls, data: dict[str, Any], **extra: Any) -> Prediction:
        values = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name not in ("raw", "_client")}
        obj = cls(raw=dict(data), **values)
        for key, value in extra.items():
            setattr(obj, key, value)
        return obj

    @property
    def done(self) -> bool:
        """True once the prediction has finished (succeeded, failed or canceled)."""
        return self.status in TERMINAL

    def _update(self, other: Prediction) -> Prediction:
        for f in dataclasses.fields(self):
            if f.name != "_client":
                setattr(self, f.name, getattr(other, f.name))
        return self

    def reload(self) -> Prediction:
        """Fetch the current state from the API."""
        client: Client = self._client
        return self._update(client.predictions.get(self.id))

    def wait(self, timeout: float | None = 60.0) -> Prediction:
        """Block until the prediction finishes (or `timeout` seconds pass); returns self, updated."""
        client: Client = self._client
        return self._update(client.predictions._wait(self.id, timeout=timeout, current=self))

    def cancel(self) -> Prediction:
        """Cancel if not finished yet."""
        client: Client = self._client
        return self._update(client.predictions.cancel(self.id))


@dataclass
class AsyncPrediction(Prediction):
    """A prediction from `AsyncClient`: `await pred.wait()`, `await pred.reload()`, `await pred.cancel()`."""

    async def reload(self) -> AsyncPrediction:  # type: ignore[override]
        client: AsyncClient = self._client
        return self._update(await client.predictions.get(self.id))  # type: ignore[return-value]

    async def wait(self, timeout: float | None = 60.0) -> AsyncPrediction:  # type: ignore[override]
        client: AsyncClient = self._client
        return self._update(await client.predictions._wait(self.id, timeout=timeout, current=self))  # type: ignore

    async def cancel(self) -> AsyncPrediction:  # type: ignore[override]
        client: AsyncClient = self._client
        return self._update(await client.predictions.cancel(self.id))  # type: ignore[return-value]


@dataclass
class App(Model):
    """A listing in the store (`pricing` is the developer's setting, `price` the current per-call price)."""

    schema_name: ClassVar[str] = "AppOutput"
    slug: str = ""
    name: str = ""
    tagline: str | None = None
    description: str | None = None
    category: Any = None
    owner: Any = None
    status: str | None = None
    rating: Any = None
    reviews_count: int | None = None
    runs: int | None = None
    pricing: dict[str, Any] | None = None
    price: str | None = None
    latest_version: Any = None
    created_at: str | None = None
    retention_days: int | None = None  # days inputs and outputs of its predictions are kept


@dataclass
class Quote(Model):
    """A price held for a short while: pass `id` as `quote_id` when you run the app."""

    schema_name: ClassVar[str] = "QuoteOutput"
    renames: ClassVar[dict[str, str]] = {"id": "quote_id"}
    id: str = ""
    price: str = ""
    currency: str | None = None
    expires_at: str | None = None


@dataclass
class Balance(Model):
    """The wallet: `balance` available, `held` reserved for running predictions."""

    schema_name: ClassVar[str] = "BalanceOutput"
    balance: str = ""
    currency: str | None = None
    held: str | None = None
    monthly_budget: str | None = None
    spent_this_month: str | None = None


@dataclass
class ApiKey(Model):
    """An API key; `key` (the secret) is only there right after creation."""

    schema_name: ClassVar[str] = "ApiKeyCreatedOutput"
    id: int = 0
    name: str = ""
    prefix: str = ""
    scopes: list[str] | None = None
    key: str | None = None


@dataclass
class Version(Model):
    """An uploaded model version; `status` goes uploaded → validating → ready | invalid."""

    schema_name: ClassVar[str] = "VersionOutput"
    version: str = ""
    task: str | None = None
    framework: str | None = None
    hardware: str | None = None
    status: str | None = None
    error: str | None = None
    sha256: str | None = None
    size: int | None = None
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


@dataclass
class Dataset(Model):
    """An uploaded training set (CSV or JSONL with `text`, `label`)."""

    schema_name: ClassVar[str] = "DatasetOut"
    id: int = 0
    rows: int | None = None
    labels: list[str] | None = None
    status: str | None = None
    error: str | None = None


@dataclass
class TrainingJob(Model):
    """A fine-tuning job; `progress` runs 0..1, `metrics` has epoch, loss, eval_accuracy."""

    schema_name: ClassVar[str] = "JobOut"
    id: int = 0
    status: str = "queued"
    progress: float | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None
    result_artifact: Any = None
    _client: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def api_fields(cls) -> list[str]:
        return [name for name in super().api_fields() if name != "_client"]

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def reload(self) -> TrainingJob:
        fresh = self._client.training_jobs.get(self.id)
        for f in dataclasses.fields(self):
            if f.name != "_client":
                setattr(self, f.name, getattr(fresh, f.name))
        return self

    def wait(self, *, timeout: float | None = None, progress: bool = False, poll: float = 1.0) -> TrainingJob:
        """Poll until the job finishes; `progress=True` shows a live bar (step, epoch, loss) on a terminal."""
        return self._client.training_jobs._wait(self, timeout=timeout, progress=progress, poll=poll)
