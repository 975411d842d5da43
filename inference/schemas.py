"""Input and output JSON schemas per task, example inputs, and input validation.

The schemas are shown on the app page and in the OpenAPI description; inputs are checked
against them before a prediction is queued (400), with size limits (413).
"""
import base64
import binascii
import io
import json

import jsonschema
from django.conf import settings
from django.utils.translation import gettext as _

from config.errors import InvalidInput

MAX_TEXTS = 64
MAX_TEXT_CHARS = 4000

_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS}
_TEXTS = {"type": "array", "items": _TEXT, "minItems": 1, "maxItems": MAX_TEXTS}
_LABELS = {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"},
                                                                      "score": {"type": "number"}}}}


def _text_input(extra: dict | None = None) -> dict:
    properties = {"text": _TEXT, "texts": _TEXTS, **(extra or {})}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "oneOf": [{"required": ["text"]}, {"required": ["texts"]}]}


INPUT_SCHEMAS: dict[str, dict] = {
    "text-classification": _text_input(),
    "feature-extraction": _text_input(),
    "text-generation": _text_input({"max_new_tokens": {"type": "integer", "minimum": 1, "maximum": 256}}),
    "image-classification": {
        "type": "object", "required": ["image"], "additionalProperties": False,
        "properties": {"image": {"type": "string", "contentEncoding": "base64",
                                 "description": "A base64 PNG or JPEG."}},
    },
    "answer-grading": {
        "type": "object", "required": ["answer", "reference"], "additionalProperties": False,
        "properties": {"answer": {**_TEXT, "description": "The student's answer."},
                       "reference": {**_TEXT, "description": "The model answer it is graded against."}},
    },
}

_ITEM_OUTPUTS = {
    "text-classification": {"type": "object", "properties": {"labels": _LABELS}},
    "feature-extraction": {"type": "object", "properties": {"embedding": {"type": "array", "items": {"type": "number"}},
                                                            "dim": {"type": "integer"}}},
    "text-generation": {"type": "object", "properties": {"text": {"type": "string"}}},
    "image-classification": {"type": "object", "properties": {"labels": _LABELS}},
    "answer-grading": {"type": "object", "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "Similarity to the reference."},
        "grade": {"type": "string", "enum": ["correct", "partial", "incorrect"]}}},
}


def output_schema(task: str) -> dict:
    item = _ITEM_OUTPUTS[task]
    if task in ("image-classification", "answer-grading"):
        return item
    return {"oneOf": [item, {"type": "object", "properties": {"results": {"type": "array", "items": item}}}]}


EXAMPLE_INPUTS = {
    "text-classification": {"text": "Quarterly revenue rose 12% and the company raised its guidance."},
    "feature-extraction": {"text": "How do I reset my password?"},
    "text-generation": {"text": "Guard: Halt!", "max_new_tokens": 8},
    "answer-grading": {"answer": "Plants use sunlight, water and carbon dioxide.",
                       "reference": "Plants need sunlight, water and carbon dioxide to make glucose and oxygen."},
}


def example_image_b64() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 60, 60)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def example_input(task: str) -> dict:
    if task == "image-classification":
        return {"image": example_image_b64()}
    return EXAMPLE_INPUTS[task]


def version_example_input(version) -> dict:
    """The version's own first example (model card `examples`) when it is a valid input, else the task's."""
    examples = (version.model_card or {}).get("examples") or []
    if version.task == "answer-grading":  # examples are {answer, reference} pairs
        first = examples[0] if examples and isinstance(examples[0], dict) else {}
        if {"answer", "reference"} <= set(first):
            return {key: str(first[key])[:MAX_TEXT_CHARS] for key in ("answer", "reference")}
        return example_input(version.task)
    if version.task != "image-classification" and examples and isinstance(examples[0], str):
        example = {"text": examples[0][:MAX_TEXT_CHARS]}
        if version.task == "text-generation":
            example["max_new_tokens"] = 8
        return example
    return example_input(version.task)


def max_input_bytes(task: str) -> int:
    if task == "image-classification":
        return settings.MAX_IMAGE_INPUT_BYTES
    return settings.MAX_TEXT_INPUT_BYTES


def _has_nul(value) -> bool:
    """PostgreSQL's JSON cannot store NUL characters: refuse them up front instead of failing later."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False


def input_validate(*, task: str, data) -> dict:
    """Check an input against the task's schema; 413 when too big, 400 with the field otherwise."""
    if not isinstance(data, dict):
        raise InvalidInput(_("`input` must be a JSON object."), fields={"input": [_("Expected an object.")]})
    size = len(json.dumps(data))
    if size > max_input_bytes(task):
        raise InvalidInput(_("The input is %(size)d bytes; the limit for this task is %(limit)d.")
                           % {"size": size, "limit": max_input_bytes(task)}, code="too_large", status=413)
    for key in ("text", "texts"):
        value = data.get(key)
        items = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and len(text) > MAX_TEXT_CHARS for text in items):
            raise InvalidInput(_("Each text may have at most %(limit)d characters.") % {"limit": MAX_TEXT_CHARS},
                               code="too_large", status=413, fields={f"input.{key}": [_("Too long.")]})
    if isinstance(data.get("texts"), list) and len(data["texts"]) > MAX_TEXTS:
        raise InvalidInput(_("At most %(limit)d texts per prediction.") % {"limit": MAX_TEXTS},
                           code="too_large", status=413, fields={"input.texts": [_("Too many items.")]})
    if _has_nul(data):
        raise InvalidInput(_("The input contains a NUL character, which is not allowed."),
                           fields={"input": [_("Remove NUL (\\u0000) characters.")]})
    validator = jsonschema.Draft202012Validator(INPUT_SCHEMAS[task])
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        where = ".".join(["input", *[str(p) for p in error.path]])
        if error.validator == "oneOf":
            message = _("Give either `text` or `texts`.")
        elif error.validator == "additionalProperties":
            message = _("Unknown field: %(detail)s") % {"detail": error.message}
        else:
            message = error.message
        raise InvalidInput(message, fields={where: [message]})
    if task == "image-classification":
        decode_image(data["image"])
    return data


def decode_image(value: str):
    """Decode and verify a base64 PNG/JPEG; a broken image is a 400, not a failed prediction."""
    from PIL import Image, UnidentifiedImageError

    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        raw = base64.b64decode(value, validate=True)
        image = Image.open(io.BytesIO(raw))
        if image.format not in ("PNG", "JPEG"):
            raise ValueError
        image.load()
    except (binascii.Error, UnidentifiedImageError, ValueError, OSError, Image.DecompressionBombError) as exc:
        message = _("`image` must be a base64-encoded PNG or JPEG.")
        raise InvalidInput(message, fields={"input.image": [message]}) from exc
    return image


def input_items(*, task: str, data: dict) -> list[dict]:
    """Split a validated input into the model's batch items."""
    if task == "image-classification":
        return [{"image": decode_image(data["image"])}]
    if task == "answer-grading":
        return [{"answer": data["answer"], "reference": data["reference"]}]
    extra = {"max_new_tokens": data.get("max_new_tokens", 32)} if task == "text-generation" else {}
    texts = data["texts"] if "texts" in data else [data["text"]]
    return [{"text": text, **extra} for text in texts]


def output_assemble(*, data: dict, outputs: list[dict]) -> dict:
    """One text in, one object out; `texts` in, `{"results": [...]}` out."""
    if "texts" in data:
        return {"results": outputs}
    return outputs[0]
