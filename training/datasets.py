"""Reading and checking labelled text files. Pure functions: no database, used by services and the worker."""
import csv
import io
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from config.parsers import unstorable_text

REQUIRED_COLUMNS = ("text", "label")


def limits() -> dict[str, int]:
    """Dataset limits, from settings (read at call time, so tests and operators can tune them)."""
    return {
        "max_bytes": settings.MAX_DATASET_BYTES,
        "min_rows_per_label": settings.MIN_ROWS_PER_LABEL,
        "max_labels": settings.MAX_DATASET_LABELS,
        "max_text_chars": settings.MAX_DATASET_TEXT_CHARS,
    }


class DatasetError(Exception):
    """A problem the uploader can fix; `code` is the API's machine code."""

    def __init__(self, code: str, message: str, report: "DatasetReport | None" = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.report = report


@dataclass
class DatasetReport:
    format: str = ""
    total_rows: int = 0
    empty_rows: int = 0
    duplicate_rows: int = 0
    conflicting_rows: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def usable_rows(self) -> int:
        return len(self.rows)


def detect_format(filename: str, head: bytes) -> str:
    """By extension first; an unknown extension is sniffed (a JSON object on the first line means JSONL)."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".txt", ".tsv")) or "." not in name:
        return "jsonl" if head.lstrip().startswith(b"{") else "csv"
    raise DatasetError("unsupported_format", _("Upload a .csv or .jsonl file with “text” and “label” columns."))


def decode(raw: bytes) -> str:
    """Datasets must be UTF-8 (a BOM is fine); anything else gets an error that says where it broke."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(
            "wrong_encoding",
            _("The file is not UTF-8 text: byte 0x%(byte)02x on line %(line)d cannot be decoded. "
              "Save the file as UTF-8 and upload it again.") % {"byte": raw[exc.start], "line": line},
        ) from None


def _columns_error(found: list[str]) -> DatasetError:
    shown = ", ".join(f"“{c}”" for c in found if c) or _("none")
    return DatasetError(
        "wrong_columns",
        _("The file needs the columns “text” and “label”; found %(found)s.") % {"found": shown},
    )


def _records_csv(text: str):
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise DatasetError("bad_format", _("The CSV file cannot be read: %(error)s") % {"error": exc}) from None
    if not all(column in header for column in REQUIRED_COLUMNS):
        raise _columns_error(header)
    reader.fieldnames = header
    try:
        for record in reader:
            yield reader.line_num, record.get("text"), record.get("label")
    except csv.Error as exc:
        raise DatasetError("bad_format", _("The CSV file cannot be read on line %(line)d: %(error)s")
                           % {"line": reader.line_num, "error": exc}) from None


def _records_jsonl(text: str):
    seen_columns = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError, ValueError):  # ValueError: a >4,300-digit number
            raise DatasetError("bad_format", _("Line %(line)d is not valid JSON. Each line must be one JSON "
                                               "object such as {\"text\": \"…\", \"label\": \"…\"}.")
                               % {"line": number}) from None
        if not isinstance(record, dict):
            raise DatasetError("bad_format", _("Line %(line)d is not a JSON object.") % {"line": number})
        if not seen_columns:
            keys = [str(key).strip().lower() for key in record]
            if not all(column in keys for column in REQUIRED_COLUMNS):
                raise _columns_error(keys)
            seen_columns = True
        lowered = {str(key).strip().lower(): value for key, value in record.items()}
        yield number, lowered.get("text"), lowered.get("label")


def _clean(value) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def parse_dataset(raw: bytes, filename: str) -> DatasetReport:
    """Read, clean and check a dataset; raise DatasetError with a clear message for anything unusable.

    Empty rows (no text or no label) and exact duplicates are dropped and counted; the same text with
    two different labels keeps its first label and counts as a conflict.
    """
    lim = limits()
    if len(raw) > lim["max_bytes"]:
        raise DatasetError("too_large", _("The file is %(size)s; datasets can be at most %(max)s.")
                           % {"size": _human_bytes(len(raw)), "max": _human_bytes(lim["max_bytes"])})
    if not raw.strip():
        raise DatasetError("empty", _("The file is empty."))
    report = DatasetReport(format=detect_format(filename, raw[:200]))
    text = decode(raw)
    records = _records_csv(text) if report.format == "csv" else _records_jsonl(text)

    seen: dict[str, str] = {}
    counts: Counter = Counter()
    for line, raw_text, raw_label in records:
        report.total_rows += 1
        sample, label = _clean(raw_text), _clean(raw_label)
        problem = unstorable_text({"text": sample, "label": label})
        if problem:
            raise DatasetError("bad_characters", _("Line %(line)d, %(column)s: %(problem)s")
                               % {"line": line, "column": problem[0], "problem": problem[1]})
        if not sample or not label:
            report.empty_rows += 1
            continue
        sample = sample[: lim["max_text_chars"]]
        key = " ".join(sample.lower().split())
        if key in seen:
            if seen[key] == label:
                report.duplicate_rows += 1
            else:
                report.conflicting_rows += 1
            continue
        seen[key] = label
        counts[label] += 1
        report.rows.append((sample, label))
    report.labels = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    if not report.rows:
        raise DatasetError("empty", _("The file has no usable rows: every row lacks a text or a label."), report)
    if len(counts) < 2:
        raise DatasetError("too_few_labels", _("A classifier needs at least two different labels; this file has "
                                               "only “%(label)s”.") % {"label": next(iter(counts))}, report)
    if len(counts) > lim["max_labels"]:
        raise DatasetError("too_many_labels", _("The file has %(n)d labels; the limit is %(max)d.")
                           % {"n": len(counts), "max": lim["max_labels"]}, report)
    small = [(label, n) for label, n in counts.items() if n < lim["min_rows_per_label"]]
    if small:
        listed = ", ".join(f"“{label}” ({n})" for label, n in sorted(small, key=lambda item: item[1]))
        raise DatasetError(
            "too_few_rows",
            _("Every label needs at least %(min)d rows (after removing empty rows and duplicates). "
              "Too few: %(labels)s.") % {"min": lim["min_rows_per_label"], "labels": listed},
            report,
        )
    return report


def split_rows(rows: list[tuple[str, str]], *, validation_fraction: Decimal | float, seed: int
               ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A stratified split that depends only on the rows, the fraction and the seed.

    Every label keeps at least one row on each side, so per-epoch accuracy always sees every label.
    """
    fraction = float(validation_fraction)
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng = random.Random(seed)
    train: list[tuple[str, str]] = []
    validation: list[tuple[str, str]] = []
    for label in sorted(by_label):
        group = sorted(by_label[label])  # file order does not matter, only rows, fraction and seed
        rng.shuffle(group)
        n_val = min(len(group) - 1, max(1, round(len(group) * fraction)))
        validation.extend(group[:n_val])
        train.extend(group[n_val:])
    rng.shuffle(train)
    rng.shuffle(validation)
    return train, validation


def _human_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
