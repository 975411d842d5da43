"""Dataset upload: the validation report, every bad-file error, the seeded split, privacy."""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import key_client
from tests.factories import DeveloperFactory, UserFactory
from training.datasets import split_rows
from training.models import Dataset

from .conftest import csv_bytes, jsonl_bytes, small_rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets/"


def upload(client, data: bytes, name: str = "data.csv", **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), **extra}, format="multipart")


@pytest.fixture
def dev_client(trainer):
    return key_client(trainer)


def test_csv_upload_reports_rows_labels_duplicates_and_empty_rows(dev_client):
    rows = small_rows(per_label=6)
    messy = [*rows, rows[0], rows[1], ("", "positive"), ("No label here", ""), (rows[2][0].upper(), "positive")]
    response = upload(dev_client, csv_bytes(messy), validation_fraction="0.25", seed=7)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["error"] == ""
    assert body["rows"] == 18
    assert body["labels"] == {"negative": 6, "neutral": 6, "positive": 6}
    assert body["total_rows"] == 23
    assert body["duplicate_rows"] == 2
    assert body["empty_rows"] == 2
    assert body["conflicting_rows"] == 1  # the same text (case aside) with a different label
    assert body["train_rows"] + body["validation_rows"] == 18
    assert body["validation_rows"] == 6 and body["seed"] == 7


def test_jsonl_upload_is_accepted(dev_client):
    response = upload(dev_client, jsonl_bytes(small_rows(per_label=5)), name="data.jsonl")
    assert response.status_code == 201, response.json()
    assert response.json()["format"] == "jsonl"
    assert response.json()["rows"] == 15


def test_dataset_file_lives_in_private_storage(dev_client, settings, client):
    body = upload(dev_client, csv_bytes(small_rows(per_label=5))).json()
    dataset = Dataset.objects.get(pk=body["id"])
    private_root = Path(Dataset._meta.get_field("file").storage.location)
    assert Path(dataset.file.path).is_relative_to(private_root)
    assert not Path(dataset.file.path).is_relative_to(Path(settings.MEDIA_ROOT))
    assert "url" not in body and "file" not in body
    assert client.get(f"/media/{dataset.file.name}").status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "code", "phrase"),
    [
        (csv_bytes(small_rows(5), header=("sentence", "category")), "d.csv", "wrong_columns", "“sentence”, “category”"),
        (jsonl_bytes(small_rows(5)).replace(b'"label"', b'"tag"'), "d.jsonl", "wrong_columns", "“tag”"),
        (csv_bytes(small_rows(5)[:13]), "d.csv", "too_few_rows", "“positive” (3)"),
        (csv_bytes([("Caf\u00e9 profits rose", "positive")] * 1).decode().encode("latin-1"), "d.csv",
         "wrong_encoding", "not UTF-8"),
        ("text,label\nCafé up,positive\n".encode("cp1252"), "d.csv",
         "wrong_encoding", "line 2"),
        (b'{"text": "a", "label": "x"}\n{not json\n', "d.jsonl", "bad_format", "Line 2 is not valid JSON"),
        (csv_bytes([(f"Shares rose {i}", "positive") for i in range(10)]), "d.csv", "too_few_labels", "two"),
        (csv_bytes([("", "positive"), ("text", "")]), "d.csv", "empty", "no usable rows"),
        (b"", "d.csv", "empty", "empty"),
        (b"PK\x03\x04", "d.xlsx", "unsupported_format", ".csv or .jsonl"),
    ],
    ids=["csv-columns", "jsonl-columns", "too-few-rows", "latin1", "cp1252-line", "bad-json", "one-label",
         "all-empty", "empty-file", "excel"],
)
def test_bad_datasets_get_clear_errors(dev_client, data, name, code, phrase):
    response = upload(dev_client, data, name=name)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code
    assert phrase in error["message"]
    assert error["dataset"]["status"] == "invalid"
    # The invalid dataset is kept with its report, so its owner can see what went wrong.
    assert dev_client.get(f"{URL}{error['dataset']['id']}/").json()["error"] == error["message"]


def test_too_large_dataset_is_refused_with_413_and_not_stored(dev_client, settings):
    settings.MAX_DATASET_BYTES = 1000
    response = upload(dev_client, csv_bytes(small_rows(20)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "at most 1000 bytes" in response.json()["error"]["message"]
    assert not Dataset.objects.exists()


def test_min_rows_per_label_is_configurable(dev_client, settings):
    settings.MIN_ROWS_PER_LABEL = 10
    response = upload(dev_client, csv_bytes(small_rows(per_label=8)))
    assert response.status_code == 400
    assert "at least 10 rows" in response.json()["error"]["message"]


def test_split_is_seeded_stratified_and_reproducible():
    rows = small_rows(per_label=12)
    first = split_rows(rows, validation_fraction=0.25, seed=3)
    again = split_rows(list(reversed(rows)), validation_fraction=0.25, seed=3)
    assert sorted(first[1]) == sorted(again[1])
    assert first == split_rows(rows, validation_fraction=0.25, seed=3)
    other = split_rows(rows, validation_fraction=0.25, seed=4)
    assert sorted(first[1]) != sorted(other[1])
    assert {label for _, label in first[1]} == {"negative", "neutral", "positive"}
    assert len(first[1]) == 9 and len(first[0]) == 27
    assert not set(first[0]) & set(first[1])


def test_owner_can_change_the_split(dev_client):
    body = upload(dev_client, csv_bytes(small_rows(per_label=10))).json()
    response = dev_client.patch(f"{URL}{body['id']}/", {"validation_fraction": "0.3", "seed": 5}, format="json")
    assert response.status_code == 200
    assert response.json()["validation_rows"] == 9 and response.json()["seed"] == 5
    bad = dev_client.patch(f"{URL}{body['id']}/", {"validation_fraction": "0.9", "seed": 5}, format="json")
    assert bad.status_code == 400 and "validation_fraction" in bad.json()["error"]["fields"]


def test_datasets_are_private_to_their_owner(dev_client):
    body = upload(dev_client, csv_bytes(small_rows(per_label=5))).json()
    other = key_client(DeveloperFactory())
    assert other.get(f"{URL}{body['id']}/").status_code == 404
    assert other.patch(f"{URL}{body['id']}/", {"validation_fraction": "0.3", "seed": 1}).status_code == 404
    assert other.delete(f"{URL}{body['id']}/").status_code == 404
    assert other.get(URL).json()["count"] == 0
    assert dev_client.get(URL).json()["count"] == 1


def test_only_developers_with_the_right_scope_can_upload(api_client):
    data = csv_bytes(small_rows(per_label=5))
    assert upload(api_client, data).status_code == 401
    assert upload(key_client(UserFactory()), data).status_code == 403
    read_only = key_client(DeveloperFactory(), scopes=("read",))
    assert upload(read_only, data).status_code == 403
    assert not Dataset.objects.exists()


def test_a_declared_content_length_over_the_limit_is_refused_before_the_body_is_read(dev_client, settings):
    """The body here is small, but the request says it is huge: the declared size alone gets the 413."""
    settings.MAX_DATASET_BYTES = 100_000
    response = dev_client.post(URL, {"file": SimpleUploadedFile("data.csv", csv_bytes(small_rows(12)))},
                               format="multipart", CONTENT_LENGTH=str(100_000 + 64 * 1024 + 1))
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "too_large"
    assert not Dataset.objects.exists()
    # The same upload with its true length is accepted.
    response = upload(dev_client, csv_bytes(small_rows(12)))
    assert response.status_code == 201, response.content
