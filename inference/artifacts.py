"""Safe handling of uploaded model artifacts: unpacking limits and refused formats.

Pure Python (zipfile, json): the web process may import this; it never loads a model.
Every refusal raises `ArtifactRefused` with a sentence the developer can act on.
"""
import hashlib
import json
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

# Pickle-based weights run arbitrary code when loaded; code files are custom code. Neither is accepted.
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5", ".hdf5"}
CODE_SUFFIXES = {".py", ".pyc", ".pyo", ".so", ".dll", ".dylib", ".sh", ".exe", ".ipynb"}
KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5", "assets"}


class ArtifactRefused(Exception):
    """The artifact is unsafe or malformed; `str(exc)` is the plain-language reason."""


@dataclass(frozen=True)
class UnpackLimits:
    max_files: int = 500
    max_total_bytes: int = 8 * 1024**3
    max_ratio: int = 200
    ratio_min_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls) -> "UnpackLimits":
        return cls(
            max_files=settings.ARTIFACT_MAX_FILES,
            max_total_bytes=settings.ARTIFACT_MAX_UNPACKED_BYTES,
            max_ratio=settings.ARTIFACT_MAX_COMPRESSION_RATIO,
        )


def file_sha256(fileobj) -> tuple[str, int]:
    """sha256 and size of a file object, read in chunks from the start."""
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def _check_member_name(name: str) -> None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArtifactRefused(_("The archive contains an absolute path (%(name)s); only relative paths are allowed.")
                              % {"name": name})
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise ArtifactRefused(_("The archive contains a path that climbs out of the folder (%(name)s).")
                              % {"name": name})


def zip_check(path: str | os.PathLike, limits: UnpackLimits | None = None) -> list[zipfile.ZipInfo]:
    """Inspect a zip's directory without extracting: names, links, counts, sizes and ratios."""
    limits = limits or UnpackLimits.from_settings()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArtifactRefused(_("The file is not a valid zip archive.")) from exc
    with archive:
        infos = archive.infolist()
    files = [info for info in infos if not info.is_dir()]
    if len(files) > limits.max_files:
        raise ArtifactRefused(_("The archive has %(count)d files; at most %(limit)d are allowed.")
                              % {"count": len(files), "limit": limits.max_files})
    total = 0
    for info in infos:
        _check_member_name(info.filename)
        if _is_link(info):
            raise ArtifactRefused(_("The archive contains a link (%(name)s); links are not allowed.")
                                  % {"name": info.filename})
        total += info.file_size
        if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ArtifactRefused(_("%(name)s is compressed more than %(ratio)d:1, which looks like a zip bomb.")
                                  % {"name": info.filename, "ratio": limits.max_ratio})
    if total > limits.max_total_bytes:
        raise ArtifactRefused(_("The archive unpacks to %(size)d bytes; the limit is %(limit)d.")
                              % {"size": total, "limit": limits.max_total_bytes})
    return files


def zip_extract(path: str | os.PathLike, dest: str | os.PathLike, limits: UnpackLimits | None = None) -> Path:
    """Extract a checked zip, counting real bytes (declared sizes can lie). Answers the model folder."""
    limits = limits or UnpackLimits.from_settings()
    files = zip_check(path, limits)
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in files:
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(dest):
                raise ArtifactRefused(_("The archive contains a path outside its folder (%(name)s).")
                                      % {"name": info.filename})
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                for chunk in iter(lambda src=src: src.read(1024 * 1024), b""):
                    written += len(chunk)
                    if written > limits.max_total_bytes:
                        raise ArtifactRefused(_("The archive unpacks to more than %(limit)d bytes.")
                                              % {"limit": limits.max_total_bytes})
                    out.write(chunk)
    return model_root(dest)


def model_root(folder: Path) -> Path:
    """A zip of a folder usually has that folder at its top: use it when config.json is not at the root."""
    if (folder / "config.json").exists():
        return folder
    children = [child for child in folder.iterdir() if not child.name.startswith(("__MACOSX", "."))]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return folder


def refused_files(names: list[str]) -> None:
    """Refuse pickle-based weights and code, whatever folder they hide in."""
    for name in names:
        suffix = PurePosixPath(name).suffix.lower()
        base = PurePosixPath(name).name
        if suffix in PICKLE_SUFFIXES:
            raise ArtifactRefused(_(
                "%(name)s is a pickle-based or legacy format (%(suffix)s), which can run code when loaded. "
                "Save the weights as safetensors (or a Keras 3 .keras file).") % {"name": name, "suffix": suffix})
        if suffix in CODE_SUFFIXES:
            raise ArtifactRefused(_("%(name)s is code; custom code is not allowed in a model artifact.")
                                  % {"name": base})


_WIDTH_KEYS = ("hidden_size", "n_embd", "d_model", "dim", "embed_dim", "model_dim")
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "encoder_layers")
_FFN_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "encoder_ffn_dim", "hidden_dim", "d_ff")
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


def _config_int(config: dict, keys: tuple[str, ...]) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def estimate_parameters(config: dict, _depth: int = 0) -> int:
    """A rough count of the parameters a transformers config describes, read before anything is built.

    Embeddings plus, per layer, attention (4·h²) and the feed-forward block (2·h·ffn, per expert);
    nested sub-configs (text/vision) add theirs. Good to a small factor, which is all a ceiling needs.
    """
    hidden = _config_int(config, _WIDTH_KEYS)
    layers = _config_int(config, _LAYER_KEYS) + _config_int(config, ("decoder_layers",))
    vocab = _config_int(config, ("vocab_size",))
    ffn = _config_int(config, _FFN_KEYS) or 4 * hidden
    experts = max(1, _config_int(config, _EXPERT_KEYS))
    total = vocab * hidden + layers * (4 * hidden * hidden + 2 * hidden * ffn * experts)
    if _depth < 3:
        total += sum(estimate_parameters(value, _depth + 1) for value in config.values() if isinstance(value, dict))
    return total


def check_parameter_budget(config: dict) -> None:
    """Refuse a config that describes a bigger network than MAX_MODEL_PARAMS, before anything is allocated."""
    limit = settings.MAX_MODEL_PARAMS
    estimate = estimate_parameters(config)
    if estimate > limit:
        raise ArtifactRefused(_(
            "config.json describes a network of about %(estimate)s parameters; models here can have at most "
            "%(limit)s.") % {"estimate": f"{estimate:,}", "limit": f"{limit:,}"})


def check_transformers_folder(folder: Path) -> None:
    """A transformers folder: config.json, safetensors weights, no custom code."""
    names = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    refused_files(names)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise ArtifactRefused(_("config.json is missing: zip the whole transformers model folder."))
    try:
        config = json.loads(config_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactRefused(_("config.json is not valid JSON.")) from exc
    if not isinstance(config, dict):
        raise ArtifactRefused(_("config.json must be a JSON object."))
    check_parameter_budget(config)
    for name in ("config.json", "tokenizer_config.json", "preprocessor_config.json"):
        path = folder / name
        if path.exists():
            try:
                data = json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError) as exc:
                raise ArtifactRefused(_("%(name)s is not valid JSON.") % {"name": name}) from exc
            if isinstance(data, dict) and data.get("auto_map"):
                raise ArtifactRefused(_("%(name)s asks for custom code (auto_map); custom code is not allowed.")
                                      % {"name": name})
    if not any(name.endswith(".safetensors") for name in names):
        raise ArtifactRefused(_("No .safetensors weights found; save the model with safe_serialization."))


def check_keras_file(path: Path, limits: UnpackLimits | None = None) -> None:
    """A Keras 3 `.keras` file is a zip with config.json, metadata.json and model.weights.h5."""
    files = zip_check(path, limits)
    names = {info.filename for info in files}
    if "config.json" not in names or "model.weights.h5" not in names:
        raise ArtifactRefused(_("This is not a Keras 3 .keras file (config.json or model.weights.h5 missing)."))
    for name in names:
        top = name.split("/", 1)[0]
        if top not in KERAS_MEMBERS:
            raise ArtifactRefused(_("Unexpected file %(name)s inside the .keras file.") % {"name": name})
        if PurePosixPath(name).suffix.lower() in CODE_SUFFIXES:
            raise ArtifactRefused(_("%(name)s is code; custom code is not allowed in a model artifact.")
                                  % {"name": name})


def check_upload_name(filename: str, framework: str) -> None:
    """Early, cheap refusals at upload time, so the developer hears about a wrong file at once."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in PICKLE_SUFFIXES:
        raise ArtifactRefused(_(
            "%(suffix)s files are pickle-based or legacy formats, which can run code when loaded. Upload a .zip of "
            "a safetensors transformers folder or a Keras 3 .keras file.") % {"suffix": suffix})
    if framework == "keras" and suffix != ".keras":
        raise ArtifactRefused(_("Keras models are uploaded as a Keras 3 .keras file."))
    if framework == "transformers" and suffix != ".zip":
        raise ArtifactRefused(_("transformers models are uploaded as a .zip of the model folder."))


def prepare_local(*, source, sha256: str, framework: str, cache_root: Path) -> Path:
    """Copy an artifact out of storage into `cache_root/<sha256>/` once, check it, and unpack it.

    Answers what a runtime loads: the model folder (transformers) or the `.keras` file.
    `source` is an open binary file. The folder is reused while its sha256 matches.
    """
    target = cache_root / sha256
    marker = target / ".ready"
    if marker.exists():
        os.utime(marker)  # recently used: the eviction below keeps it
        return Path(marker.read_text())
    staging = cache_root / f".{sha256}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        raw = staging / ("artifact.keras" if framework == "keras" else "artifact.zip")
        digest = hashlib.sha256()
        with open(raw, "wb") as out:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                digest.update(chunk)
                out.write(chunk)
        if sha256 and digest.hexdigest() != sha256:
            raise ArtifactRefused(_("The stored artifact does not match its recorded sha256."))
        if framework == "keras":
            check_keras_file(raw)
            result_rel = "artifact.keras"
        else:
            folder = zip_extract(raw, staging / "model")
            raw.unlink()
            check_transformers_folder(folder)
            result_rel = str(folder.relative_to(staging))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        result = target / result_rel
        marker.write_text(str(result))
        cache_evict(cache_root, keep=target)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def cache_evict(cache_root: Path, *, keep: Path | None = None, max_bytes: int | None = None,
                min_age_seconds: float = 600) -> list[str]:
    """Keep the unpacked-artifact cache under MODEL_CACHE_MAX_BYTES: least recently used entries go first.

    A model already loaded in memory does not need its files any more; a later load unpacks it again.
    Entries used in the last `min_age_seconds` stay (another worker may be loading from them right now).
    Answers the sha256s removed.
    """
    import time

    if max_bytes is None:
        max_bytes = settings.MODEL_CACHE_MAX_BYTES
    recent = time.time() - min_age_seconds
    entries = []
    for folder in cache_root.iterdir() if cache_root.exists() else []:
        marker = folder / ".ready"
        if folder.is_dir() and not folder.name.startswith(".") and marker.exists():
            entries.append((marker.stat().st_mtime, folder, _folder_bytes(folder)))
    total = sum(size for _mtime, _folder, size in entries)
    removed = []
    for _mtime, folder, size in sorted(entries, key=lambda entry: entry[0]):
        if total <= max_bytes:
            break
        if (keep is not None and folder == keep) or _mtime > recent:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        removed.append(folder.name)
    return removed
