"""The `modelmarket` command (alias `mm`): tables on a terminal, JSON when piped or with --json.

Exit status: 0 on success, 1 on an API error (its message on stderr), 2 on bad usage.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import httpx
import typer
import typer.core
from rich.console import Console
from rich.table import Table

from . import _base
from ._client import Client
from ._errors import APIError, ModelMarketError, PredictionFailed


class _Group(typer.core.TyperGroup):
    """Turns API errors into exit status 1 with the message on stderr (bad usage is click's exit status 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except APIError as exc:
            err.print(f"[red]Error {exc.status} ({exc.code}):[/red] {exc.message}", highlight=False)
            for field, messages in (exc.fields or {}).items():
                err.print(f"  {field}: {messages}", highlight=False)
            raise typer.Exit(1) from exc
        except ModelMarketError as exc:
            err.print(f"[red]Error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc
        except httpx.TransportError as exc:
            err.print(f"[red]Cannot reach the platform:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc


app = typer.Typer(help="ModelMarket from the terminal: run apps, publish models, fine-tune.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=_Group)
apps_app = typer.Typer(help="Browse the store.", no_args_is_help=True)
predictions_app = typer.Typer(help="Your predictions.", no_args_is_help=True)
keys_app = typer.Typer(help="Your API keys.", no_args_is_help=True)
datasets_app = typer.Typer(help="Training datasets.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")
app.add_typer(predictions_app, name="predictions")
app.add_typer(keys_app, name="keys")
app.add_typer(datasets_app, name="datasets")

out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the default when the output is piped).")]


def _bad_usage(message: str) -> NoReturn:
    """Bad usage: the message on stderr, exit status 2 (like click's own usage errors)."""
    err.print(f"[red]Usage error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def _client() -> Client:
    return Client()


def _as_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return getattr(value, "raw", None) or {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                                              if not f.name.startswith("_")}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value


def _json_mode(flag: bool) -> bool:
    return flag or not sys.stdout.isatty()


def _emit(value: Any, *, as_json: bool, columns: list[str] | None = None, title: str | None = None) -> None:
    """JSON, or a table (lists) / key-value table (objects) for people."""
    data = _as_json(value)
    if _json_mode(as_json):
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, list):
        table = Table(title=title)
        cols = columns or (list(data[0].keys()) if data else [])
        for col in cols:
            table.add_column(col)
        for row in data:
            table.add_row(*[_cell(row.get(col)) for col in cols])
        out.print(table)
    elif isinstance(data, dict):
        table = Table(show_header=False, title=title)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key in columns or list(data.keys()):
            table.add_row(key, _cell(data.get(key)))
        out.print(table)
    else:
        out.print(data)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("slug") or value.get("username") or json.dumps(value, default=str)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def _parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`-i key=value` pairs: `@file` reads a file (images become base64), JSON values are parsed."""
    result: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            _bad_usage(f"-i takes key=value, not {pair!r}")
        key, value = pair.split("=", 1)
        if value.startswith("@"):
            path = Path(value[1:])
            if not path.is_file():
                _bad_usage(f"no such file: {path}")
            raw = path.read_bytes()
            if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
                result[key] = base64.b64encode(raw).decode()
            else:
                result[key] = raw.decode()
            continue
        if value[:1] in ("[", "{") or value in ("true", "false", "null") or value.lstrip("-").isdigit():
            try:
                result[key] = json.loads(value)
                continue
            except ValueError:
                pass
        result[key] = value
    return result


@app.command()
def login(base_url: Annotated[str | None, typer.Option(help="The platform's address.")] = None,
          api_key: Annotated[str | None, typer.Option("--api-key", help="The key (asked for when left out).")] = None
          ) -> None:
    """Ask for an API key, check it, store it in ~/.config/modelmarket/config.toml (mode 0600)."""
    url = (base_url or os.environ.get("MODELMARKET_BASE_URL") or _base.read_config().get("base_url")
           or _base.DEFAULT_BASE_URL).rstrip("/")
    key = api_key or typer.prompt("API key", hide_input=True)
    with Client(api_key=key, base_url=url) as client:
        me = client.request("GET", "/api/v1/me/")
    path = _base.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"api_key = {json.dumps(key)}\nbase_url = {json.dumps(url)}\n")
    os.chmod(path, 0o600)
    err.print(f"Logged in to {url} as [bold]{me.get('username') or me.get('email')}[/bold]; key stored in {path}")


@apps_app.command("list")
def apps_list(search: Annotated[str | None, typer.Option(help="Full-text search.")] = None,
              category: Annotated[str | None, typer.Option(help="A category slug.")] = None,
              as_json: JsonOpt = False) -> None:
    """Published apps."""
    with _client() as client:
        found = list(client.apps.list(search=search, category=category))
    _emit(found, as_json=as_json, columns=["slug", "name", "price", "runs", "rating"], title="Apps")


@apps_app.command("show")
def apps_show(slug: str, as_json: JsonOpt = False) -> None:
    """One app."""
    with _client() as client:
        found = client.apps.get(slug)
    _emit(found, as_json=as_json, columns=None if _json_mode(as_json) else
          ["slug", "name", "tagline", "status", "price", "runs", "rating", "latest_version"])


@app.command()
def run(slug: str,
        inputs: Annotated[list[str] | None, typer.Option("-i", "--input", help="key=value, key=@file")] = None,
        max_price: Annotated[str | None, typer.Option(help="Refuse to pay more than this per call.")] = None,
        stream: Annotated[bool, typer.Option(help="Print the output as it is generated.")] = False,
        as_json: JsonOpt = False) -> None:
    """Run an app and print its output."""
    data = _parse_inputs(inputs or [])
    if not data:
        _bad_usage("give the input with -i key=value (e.g. -i text=\"hello\")")
    with _client() as client:
        if stream:
            for piece in client.stream(slug, input=data, max_price=max_price):
                if isinstance(piece, str):
                    typer.echo(piece, nl=False)
                else:
                    typer.echo(json.dumps(piece, default=str))
            typer.echo("")
            return
        prediction = client.predictions.create(slug, input=data, max_price=max_price, wait=True)
        if not prediction.done:
            prediction.wait(timeout=300)
        if prediction.status != "succeeded":
            raise PredictionFailed(prediction)
    if _json_mode(as_json):
        typer.echo(json.dumps(prediction.raw if as_json else prediction.output, indent=2, default=str))
    else:
        out.print_json(json.dumps(prediction.output, default=str))
        err.print(f"[dim]{prediction.id} · {prediction.price} {prediction.currency}[/dim]")


@predictions_app.command("list")
def predictions_list(app_slug: Annotated[str | None, typer.Option("--app", help="Only this app.")] = None,
                     limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
                     as_json: JsonOpt = False) -> None:
    """Your predictions, newest first."""
    rows = []
    with _client() as client:
        for prediction in client.predictions.list(app=app_slug):
            rows.append(prediction)
            if len(rows) >= limit:
                break
    _emit(rows, as_json=as_json, columns=["id", "app", "status", "price", "created_at"], title="Predictions")


@predictions_app.command("get")
def predictions_get(prediction_id: str, as_json: JsonOpt = False) -> None:
    """One prediction."""
    with _client() as client:
        found = client.predictions.get(prediction_id)
    _emit(found, as_json=as_json, columns=None if _json_mode(as_json) else
          ["id", "app", "version", "status", "output", "error", "price", "created_at", "completed_at"])


@predictions_app.command("cancel")
def predictions_cancel(prediction_id: str, as_json: JsonOpt = False) -> None:
    """Cancel a prediction that has not finished."""
    with _client() as client:
        found = client.predictions.cancel(prediction_id)
    _emit(found, as_json=as_json, columns=None if _json_mode(as_json) else ["id", "status"])


@app.command()
def publish(slug: str, artifact: Path,
            version: Annotated[str, typer.Option(help="Semantic version, e.g. 1.0.0.")],
            task: Annotated[str, typer.Option(help="text-classification, feature-extraction, ...")],
            framework: Annotated[str, typer.Option(help="transformers or keras.")],
            hardware: Annotated[str, typer.Option(help="cpu or gpu.")] = "cpu",
            changelog: Annotated[str, typer.Option(help="What changed.")] = "",
            labels: Annotated[str | None, typer.Option(help="Keras classifiers: class names, comma-separated.")] = None,
            wait: Annotated[int, typer.Option(help="Seconds to wait for validation before submitting.")] = 600,
            as_json: JsonOpt = False) -> None:
    """Upload a model version (with a progress bar), wait for validation, then submit the app for review."""
    if not artifact.is_file():
        _bad_usage(f"no such file: {artifact}")
    import time

    with _client() as client:
        uploaded = client.apps.upload_version(slug, artifact, version=version, task=task, framework=framework,
                                              hardware=hardware, changelog=changelog,
                                              labels=labels.split(",") if labels else None,
                                              progress=None if not as_json else False)
        deadline = time.monotonic() + wait
        current = uploaded
        while current.status in ("uploaded", "validating") and time.monotonic() < deadline:
            time.sleep(1.0)
            current = client.apps.get_version(slug, version)
        if current.status != "ready":
            err.print(f"[red]Version {version} is {current.status}[/red]: {current.error or ''}")
            raise typer.Exit(1)
        submitted = client.apps.submit(slug)
    _emit(submitted, as_json=as_json, columns=None if _json_mode(as_json) else ["slug", "status"])


@app.command()
def balance(org: Annotated[str | None, typer.Option(help="An organisation's wallet.")] = None,
            as_json: JsonOpt = False) -> None:
    """Your wallet."""
    with _client() as client:
        found = client.billing.balance(org=org)
    _emit(found, as_json=as_json, columns=None if _json_mode(as_json) else
          ["balance", "held", "currency", "monthly_budget", "spent_this_month"])


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """Your API keys (prefixes only)."""
    with _client() as client:
        found = list(client.keys.list())
    _emit(found, as_json=as_json, columns=["id", "name", "prefix", "scopes"], title="API keys")


@keys_app.command("create")
def keys_create(name: str,
                scope: Annotated[list[str] | None, typer.Option("--scope", help="read, predict, publish")] = None,
                spend_cap: Annotated[str | None, typer.Option(help="Monthly spend cap.")] = None,
                as_json: JsonOpt = False) -> None:
    """Create a key; the secret is shown once."""
    with _client() as client:
        created = client.keys.create(name, scopes=scope or ["read", "predict"], spend_cap=spend_cap)
    _emit(created, as_json=as_json, columns=None if _json_mode(as_json) else ["id", "name", "prefix", "scopes", "key"])


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key at once."""
    with _client() as client:
        client.keys.revoke(key_id)
    err.print(f"Key {key_id} revoked.")


@datasets_app.command("upload")
def datasets_upload(file: Path, as_json: JsonOpt = False) -> None:
    """Upload a CSV or JSONL file with text and label."""
    if not file.is_file():
        _bad_usage(f"no such file: {file}")
    with _client() as client:
        found = client.datasets.upload(file, progress=None if not as_json else False)
    _emit(found, as_json=as_json, columns=None if _json_mode(as_json) else ["id", "rows", "labels", "status", "error"])


@app.command()
def train(base: Annotated[str, typer.Option("--base", help="SLUG@VERSION of the model to fine-tune.")],
          dataset: Annotated[int, typer.Option(help="The dataset id.")],
          epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
          watch: Annotated[bool, typer.Option(help="Follow the job with a live progress bar.")] = False,
          as_json: JsonOpt = False) -> None:
    """Start a fine-tuning job."""
    if "@" not in base:
        _bad_usage("--base takes SLUG@VERSION, e.g. faq-search@1.0.0")
    slug, version = base.split("@", 1)
    hyper = {"epochs": epochs} if epochs is not None else {}
    with _client() as client:
        job = client.training_jobs.create(base_app=slug, base_version=version, dataset=dataset,
                                          hyperparameters=hyper)
        if watch:
            job.wait(progress=not _json_mode(as_json))
    _emit(job, as_json=as_json, columns=None if _json_mode(as_json) else ["id", "status", "progress", "metrics",
                                                                          "error"])
    if watch and job.status != "succeeded":
        raise typer.Exit(1)


def main() -> None:
    """Entry point of `modelmarket` and `mm`."""
    app()


if __name__ == "__main__":
    main()
