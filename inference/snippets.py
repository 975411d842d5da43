"""Ready-to-run code for the app page's API tab: curl, Python, JavaScript fetch and the CLI.

Built from the app's runnable version (its task's input schema and example input), the page's own address,
and the caller's newest API key prefix as a placeholder. The key itself is read from MODELMARKET_API_KEY in
every snippet, so a copied snippet runs as is once that variable is set.
"""
import json
import shlex
from dataclasses import dataclass
from decimal import Decimal

from . import schemas

KEY_ENV = "MODELMARKET_API_KEY"


@dataclass(frozen=True)
class Snippet:
    lang: str
    label: str
    code: str


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _python_literal(value) -> str:
    """A dict as Python source (JSON is Python except for true/false/null)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python_literal(k)}: {_python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_python_literal(v) for v in value) + "]"
    return repr(value)


def build_snippets(*, base_url: str, slug: str, task: str, example: dict | None = None,
                   max_price: Decimal | None = None, key_hint: str = "") -> list[Snippet]:
    """The four snippets for one app. `max_price` (the app's cap) is sent for paid apps."""
    base = base_url.rstrip("/")
    data = example if example is not None else schemas.example_input(task)
    url = f"{base}/api/v1/apps/{slug}/predictions/"
    body: dict = {"input": data}
    if max_price is not None:
        body["max_price"] = f"{max_price:.6f}"
    hint = f"# export {KEY_ENV}={key_hint or 'mm_…'}   (Settings → API keys)\n"
    curl = (hint + f"curl -s -X POST {shlex.quote(url)} \\\n"
            f"  -H \"Authorization: Bearer ${KEY_ENV}\" \\\n"
            "  -H \"Content-Type: application/json\" \\\n"
            "  -H \"Prefer: wait=60\" \\\n"
            f"  -d {shlex.quote(_json(body))}")
    price_arg = f", max_price=\"{max_price:.6f}\"" if max_price is not None else ""
    if task == "text-generation":
        run = (f"for piece in client.stream({slug!r}, input={_python_literal(data)}{price_arg}):\n"
               "    print(piece, end=\"\", flush=True)\nprint()")
    else:
        run = f"output = client.run({slug!r}, input={_python_literal(data)}{price_arg})\nprint(output)"
    python = (hint + "import modelmarket\n\n"
              f"client = modelmarket.Client(base_url={base!r})  # the key comes from ${KEY_ENV}\n" + run)
    javascript = (f"// {KEY_ENV}={key_hint or 'mm_…'} (Settings → API keys)\n"
                  f"const response = await fetch({_json(url)}, {{\n"
                  "  method: \"POST\",\n"
                  "  headers: {\n"
                  f"    \"Authorization\": `Bearer ${{process.env.{KEY_ENV}}}`,\n"
                  "    \"Content-Type\": \"application/json\",\n"
                  "    \"Prefer\": \"wait=60\",\n"
                  "  },\n"
                  f"  body: JSON.stringify({_json(body)}),\n"
                  "});\n"
                  "const prediction = await response.json();\n"
                  "console.log(prediction.status, prediction.output);")
    args = []
    for key, value in data.items():
        if key == "image":
            args.append("-i image=@photo.png")
        else:
            text = value if isinstance(value, str) else _json(value)
            args.append(f"-i {shlex.quote(f'{key}={text}')}")
    if max_price is not None:
        args.append(f"--max-price {max_price:.6f}")
    if task == "text-generation":
        args.append("--stream")
    cli = (hint + f"export MODELMARKET_BASE_URL={shlex.quote(base)}\n"
           f"modelmarket run {slug} " + " ".join(args))
    return [Snippet("curl", "curl", curl), Snippet("python", "Python", python),
            Snippet("javascript", "JavaScript", javascript), Snippet("cli", "CLI", cli)]
