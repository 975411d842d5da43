"""Every refusal of the artifact checks, each with its own crafted file, through the real validation."""
import io
import os
import zipfile
from pathlib import Path

import pytest

from config.errors import InvalidInput
from inference.artifacts import ArtifactRefused, UnpackLimits, zip_check, zip_extract
from inference.services import version_upload
from inference.worker.validation import version_validate
from marketplace.models import VersionStatus
from tests.factories import AppFactory

from .conftest import upload_file


def _zip_with(path: Path, base: Path | None = None, extra: dict[str, bytes] | None = None,
              infos: list[tuple[zipfile.ZipInfo, bytes]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if base:
            for file in sorted(base.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(base))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        for info, data in infos or []:
            archive.writestr(info, data)
    return path


def _validate(path: Path, *, framework: str = "transformers", task: str = "text-classification"):
    app = AppFactory()
    created = version_upload(app=app, actor=app.owner, artifact=upload_file(path), version="1.0.0", task=task,
                             framework=framework)
    return version_validate(version_id=created.pk)


@pytest.mark.django_db
def test_a_clean_model_becomes_ready_with_what_we_learnt(tiny_models):
    version = _validate(tiny_models["classifier"])
    assert version.status == VersionStatus.READY, version.error
    assert version.metrics["parameters"] > 1000 and version.metrics["load_ms"] > 0
    assert version.metrics["labels"] == ["negative", "positive"]
    assert version.input_schema["properties"]["text"]["type"] == "string"
    assert version.model_card["example_output"]["labels"][0]["label"] in {"negative", "positive"}
    assert len(version.sha256) == 64 and version.size == tiny_models["classifier"].stat().st_size


@pytest.mark.django_db
def test_absolute_path_is_refused(tmp_path, tiny_models):
    path = _zip_with(tmp_path / "abs.zip", tiny_models["classifier_dir"],
                     infos=[(zipfile.ZipInfo("/etc/cron.d/evil"), b"* * * * * root true")])
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "absolute path" in version.error


@pytest.mark.django_db
def test_parent_directory_entries_are_refused(tmp_path, tiny_models):
    path = _zip_with(tmp_path / "dots.zip", tiny_models["classifier_dir"],
                     infos=[(zipfile.ZipInfo("weights/../../outside.txt"), b"escape")])
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "climbs out" in version.error


@pytest.mark.django_db
def test_links_are_refused(tmp_path, tiny_models):
    link = zipfile.ZipInfo("vocab_link.json")
    link.external_attr = (0o120777 << 16)
    path = _zip_with(tmp_path / "link.zip", tiny_models["classifier_dir"], infos=[(link, b"/etc/passwd")])
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "link" in version.error


@pytest.mark.django_db
def test_too_many_files_are_refused(tmp_path, tiny_models, settings):
    settings.ARTIFACT_MAX_FILES = 12
    path = _zip_with(tmp_path / "many.zip", tiny_models["classifier_dir"],
                     extra={f"notes/{i}.txt": b"note" for i in range(12)})
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "at most 12" in version.error


@pytest.mark.django_db
def test_too_much_uncompressed_data_is_refused(tmp_path, tiny_models, settings):
    settings.ARTIFACT_MAX_UNPACKED_BYTES = 2 * 1024 * 1024
    path = _zip_with(tmp_path / "big.zip", tiny_models["classifier_dir"], extra={"extra.safetensors": os.urandom(
        3 * 1024 * 1024)})
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "unpacks to" in version.error


@pytest.mark.django_db
def test_zip_bomb_ratio_is_refused(tmp_path, tiny_models):
    path = _zip_with(tmp_path / "bomb.zip", tiny_models["classifier_dir"],
                     extra={"padding.safetensors": b"\0" * (8 * 1024 * 1024)})
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "zip bomb" in version.error


def test_declared_sizes_that_lie_are_caught_while_extracting(tmp_path):
    """A zip whose directory under-declares sizes is stopped by counting the bytes really written."""
    path = _zip_with(tmp_path / "liar.zip", extra={"config.json": b"{}", "a.safetensors": os.urandom(4096)})
    limits = UnpackLimits(max_total_bytes=1000)
    with pytest.raises(ArtifactRefused):
        zip_extract(path, tmp_path / "out", limits)
    assert zip_check(path, UnpackLimits())  # fine under normal limits


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth", "tokenizer.pkl",
                                  "last.ckpt", "tf_model.h5"])
def test_pickle_and_legacy_weight_files_are_refused(tmp_path, tiny_models, name):
    path = _zip_with(tmp_path / "pickled.zip", tiny_models["classifier_dir"],
                     extra={name: b"\x80\x04\x95" + os.urandom(64)})
    version = _validate(path)
    assert version.status == VersionStatus.INVALID
    assert name in version.error and "pickle-based or legacy" in version.error


@pytest.mark.django_db
@pytest.mark.parametrize("name,framework", [("model.bin", "transformers"), ("model.h5", "keras"),
                                            ("model.pkl", "keras")])
def test_pickle_or_legacy_uploads_are_refused_at_once(tmp_path, name, framework):
    path = tmp_path / name
    path.write_bytes(os.urandom(128))
    app = AppFactory()
    with pytest.raises(InvalidInput) as info:
        version_upload(app=app, actor=app.owner, artifact=upload_file(path), version="1.0.0",
                       task="text-classification", framework=framework)
    assert "artifact" in info.value.fields


@pytest.mark.django_db
def test_custom_code_files_are_refused(tmp_path, tiny_models):
    path = _zip_with(tmp_path / "code.zip", tiny_models["classifier_dir"],
                     extra={"modeling_evil.py": b"import os\nos.system('id')\n"})
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "custom code" in version.error


@pytest.mark.django_db
def test_auto_map_in_config_is_refused(tmp_path, tiny_models):
    import json

    folder = tmp_path / "automap"
    import shutil

    shutil.copytree(tiny_models["classifier_dir"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    version = _validate(_zip_with(tmp_path / "automap.zip", folder))
    assert version.status == VersionStatus.INVALID and "auto_map" in version.error


@pytest.mark.django_db
def test_weights_must_be_safetensors(tmp_path, tiny_models):
    folder = tmp_path / "noweights"
    import shutil

    shutil.copytree(tiny_models["classifier_dir"], folder)
    (folder / "model.safetensors").unlink()
    version = _validate(_zip_with(tmp_path / "noweights.zip", folder))
    assert version.status == VersionStatus.INVALID and ".safetensors" in version.error


@pytest.mark.django_db
def test_keras_lambda_layers_are_refused(tmp_path):
    import keras

    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    version = _validate(path, framework="keras", task="feature-extraction")
    assert version.status == VersionStatus.INVALID and "Lambda" in version.error


@pytest.mark.django_db
def test_a_keras_file_with_smuggled_code_is_refused(tmp_path, tiny_keras):
    path = tmp_path / "smuggled.keras"
    with zipfile.ZipFile(tiny_keras["text"]) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("run_me.py", "print('hi')")
    version = _validate(path, framework="keras")
    assert version.status == VersionStatus.INVALID and "run_me.py" in version.error


@pytest.mark.django_db
def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"this is not a zip")
    version = _validate(path)
    assert version.status == VersionStatus.INVALID and "not a valid zip" in version.error


@pytest.mark.django_db
def test_a_model_that_does_not_fit_its_task_is_invalid(tiny_keras):
    version = _validate(tiny_keras["shapes"], framework="keras", task="text-classification")
    assert version.status == VersionStatus.INVALID and version.error


def test_zip_check_lists_files_only():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("folder/", b"")
        archive.writestr("folder/config.json", b"{}")
    buffer.seek(0)
    assert [info.filename for info in zip_check(buffer)] == ["folder/config.json"]
