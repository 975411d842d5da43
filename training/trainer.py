"""The training loops: the one module of training that imports ML (torch, transformers, TensorFlow, Keras),
lazily. Only the worker (`training.worker`) and the demo command import it; the web side reads `spec`.

`train(spec, reporter)` fine-tunes a transformers encoder with a new sequence-classification head, or
a Keras text classifier, and writes the result artifact in the same format as an upload: a `.zip` of a
transformers folder, or a `.keras` file. The reporter is called between steps; it raises to stop the
loop (cancel, time limit), and the loop frees its model and memory on the way out.
"""
import gc
import math
import os
import zipfile
from pathlib import Path

from django.utils.translation import gettext as _

from .spec import Reporter, TrainingRefused, TrainResult, TrainSpec


def steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


def pick_device() -> str:
    """CUDA when this worker has a GPU, else CPU."""
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def cpu_threads(requested: int = 0) -> int:
    """Threads for CPU training: the idle cores, at least one.

    On a busy CPU, OpenMP threads spin-wait on each other: two threads on a loaded 2-core machine run a
    MiniLM step several times slower than one. `requested` > 0 forces a count.
    """
    if requested > 0:
        return requested
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 1)))


def train(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    if spec.framework == "transformers":
        return _train_transformers(spec, reporter)
    if spec.framework == "keras":
        return _train_keras(spec, reporter)
    raise TrainingRefused(_("Cannot fine-tune a %(framework)s model.") % {"framework": spec.framework})


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def _train_transformers(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    hp = spec.hyperparameters
    torch.manual_seed(hp["seed"])
    if spec.device == "cpu":
        torch.set_num_threads(cpu_threads(spec.cpu_threads))
    guards = {"local_files_only": True, "trust_remote_code": False}
    config = AutoConfig.from_pretrained(spec.base_path, **guards)
    if getattr(config, "auto_map", None):
        raise TrainingRefused(_("The base model asks for custom code (auto_map), which is not allowed."))
    if getattr(config, "is_decoder", False) or any("CausalLM" in a or "LMHead" in a
                                                     for a in (getattr(config, "architectures", None) or [])):
        raise TrainingRefused(_("Only encoder models can be fine-tuned for classification; this one is a decoder."))
    label2id = {label: i for i, label in enumerate(spec.labels)}
    model = tokenizer = optimizer = None
    try:
        tokenizer = AutoTokenizer.from_pretrained(spec.base_path, **guards)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                spec.base_path, num_labels=len(spec.labels), id2label=dict(enumerate(spec.labels)),
                label2id=label2id, ignore_mismatched_sizes=True, use_safetensors=True, **guards,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise TrainingRefused(_("The base model cannot take a classification head: %(error)s")
                                  % {"error": exc}) from exc
        count = sum(p.numel() for p in model.parameters())
        reporter.log(_("Loaded %(model)s (%(count)s parameters) on %(device)s (%(threads)d threads); "
                       "new head with %(n)d labels: %(labels)s.")
                     % {"model": type(model).__name__, "count": f"{count:,}", "device": spec.device,
                        "threads": torch.get_num_threads(), "n": len(spec.labels), "labels": ", ".join(spec.labels)})
        model.to(spec.device)

        def encode(rows):
            encoded = tokenizer([text for text, _ in rows], truncation=True, max_length=hp["max_length"])
            return encoded["input_ids"], [label2id[label] for _, label in rows]

        train_ids, train_y = encode(spec.train)
        val_ids, val_y = encode(spec.validation)
        batch_size = hp["batch_size"]
        per_epoch = steps_per_epoch(len(train_ids), batch_size)
        total = per_epoch * hp["epochs"]
        optimizer = torch.optim.AdamW(model.parameters(), lr=hp["learning_rate"], weight_decay=0.01)
        warmup = max(1, total // 10)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
        generator = torch.Generator().manual_seed(hp["seed"])
        pad = tokenizer.pad_token_id or 0

        def batch_tensors(ids_list, labels):
            width = max(len(ids) for ids in ids_list)
            ids = torch.full((len(ids_list), width), pad, dtype=torch.long)
            mask = torch.zeros((len(ids_list), width), dtype=torch.long)
            for row, seq in enumerate(ids_list):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            return ids.to(spec.device), mask.to(spec.device), torch.tensor(labels).to(spec.device)

        def evaluate() -> tuple[float, float]:
            model.eval()
            correct, loss_sum = 0, 0.0
            with torch.inference_mode():
                for start in range(0, len(val_ids), 64):
                    ids, mask, y = batch_tensors(val_ids[start:start + 64], val_y[start:start + 64])
                    out = model(input_ids=ids, attention_mask=mask, labels=y)
                    loss_sum += out.loss.item() * len(y)
                    correct += int((out.logits.argmax(-1) == y).sum())
            model.train()
            return loss_sum / len(val_ids), correct / len(val_ids)

        step = 0
        metrics: dict = {}
        model.train()
        for epoch in range(1, hp["epochs"] + 1):
            order = torch.randperm(len(train_ids), generator=generator).tolist()
            epoch_loss = 0.0
            for start in range(0, len(order), batch_size):
                chosen = order[start:start + batch_size]
                ids, mask, y = batch_tensors([train_ids[i] for i in chosen], [train_y[i] for i in chosen])
                out = model(input_ids=ids, attention_mask=mask, labels=y)
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                loss = out.loss.detach().item()
                epoch_loss += loss
                reporter.step(step=step, total_steps=total, epoch=epoch, loss=loss)
            eval_loss, accuracy = evaluate()
            metrics = {"epoch": epoch, "loss": round(epoch_loss / per_epoch, 6), "eval_loss": round(eval_loss, 6),
                       "eval_accuracy": round(accuracy, 6)}
            reporter.epoch_end(epoch=epoch, loss=metrics["loss"], eval_loss=metrics["eval_loss"],
                               eval_accuracy=metrics["eval_accuracy"])

        folder = spec.output_dir / "model"
        model.to("cpu")
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        count = int(sum(p.numel() for p in model.parameters()))
        artifact = _zip_folder(folder, spec.output_dir / "model.zip")
        return TrainResult(artifact_path=artifact, metrics=metrics, labels=list(spec.labels), parameter_count=count)
    finally:
        model = optimizer = tokenizer = None  # drop the references so gc can free the weights
        gc.collect()
        if spec.device.startswith("cuda"):
            torch.cuda.empty_cache()


def _train_keras(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    hp = spec.hyperparameters
    keras.utils.set_random_seed(hp["seed"])
    label2id = {label: i for i, label in enumerate(spec.labels)}
    model = None
    try:
        try:
            base = keras.saving.load_model(spec.base_path, safe_mode=True, compile=False)
        except Exception as exc:  # Keras raises many types; every one means the base cannot be used.
            raise TrainingRefused(_("The Keras base model could not be loaded safely: %(error)s")
                                  % {"error": str(exc)[:300]}) from exc
        if len(base.inputs) != 1 or "string" not in str(base.inputs[0].dtype):
            raise TrainingRefused(
                _("A Keras base must take raw text (one string input with its own TextVectorization)."))
        head = base.layers[-1]
        same_head = (isinstance(head, keras.layers.Dense) and head.units == len(spec.labels)
                     and list(spec.base_labels) == list(spec.labels))
        if same_head:
            model = base
            reporter.log(_("Keeping the base model's classification head: same labels."))
        else:
            features = base.layers[-2].output
            outputs = keras.layers.Dense(len(spec.labels), activation="softmax", name="finetuned_head")(features)
            model = keras.Model(base.inputs, outputs, name=f"{base.name}_finetuned")
            reporter.log(_("New classification head with %(n)d labels: %(labels)s.")
                         % {"n": len(spec.labels), "labels": ", ".join(spec.labels)})
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp["learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        rank = len(base.inputs[0].shape)

        def tensors(rows):
            texts = [text for text, _ in rows]
            x = tf.constant([[t] for t in texts]) if rank == 2 else tf.constant(texts)
            return x, np.array([label2id[label] for _, label in rows], dtype="int32")

        x_train, y_train = tensors(spec.train)
        x_val, y_val = tensors(spec.validation)
        batch_size = hp["batch_size"]
        per_epoch = steps_per_epoch(len(spec.train), batch_size)
        total = per_epoch * hp["epochs"]
        train_ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                    .shuffle(len(spec.train), seed=hp["seed"], reshuffle_each_iteration=True).batch(batch_size))
        reporter.log(_("Keras model with %(count)s parameters; %(steps)d steps per epoch.")
                     % {"count": f"{model.count_params():,}", "steps": per_epoch})
        metrics: dict = {}

        class Progress(keras.callbacks.Callback):
            """Bridges Keras to the reporter; a raise from the reporter stops fit() at once."""

            def __init__(self):
                super().__init__()
                self.step = 0
                self.epoch = 1

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch + 1

            def on_train_batch_end(self, batch, logs=None):
                self.step += 1
                reporter.step(step=self.step, total_steps=total, epoch=self.epoch, loss=float(logs["loss"]))

            def on_epoch_end(self, epoch, logs=None):
                metrics.update({"epoch": epoch + 1, "loss": round(float(logs["loss"]), 6),
                                "eval_loss": round(float(logs["val_loss"]), 6),
                                "eval_accuracy": round(float(logs["val_accuracy"]), 6)})
                reporter.epoch_end(epoch=epoch + 1, loss=metrics["loss"], eval_loss=metrics["eval_loss"],
                                   eval_accuracy=metrics["eval_accuracy"])

        model.fit(train_ds, validation_data=(x_val, y_val), epochs=hp["epochs"], verbose=0,
                  callbacks=[Progress()])
        artifact = spec.output_dir / "model.keras"
        model.save(artifact)
        return TrainResult(artifact_path=artifact, metrics=metrics, labels=list(spec.labels),
                           parameter_count=int(model.count_params()))
    finally:
        model = None
        keras.backend.clear_session()
        gc.collect()


def keras_base_classifier(path: Path, train_texts: list[str], n_labels: int) -> Path:
    """An untrained copy of the finance-sentiment demo architecture, its vocabulary from the training rows only."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    vectorizer = keras.layers.TextVectorization(max_tokens=4000, output_sequence_length=40)
    vectorizer.adapt(tf.constant(train_texts))
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Reshape(())(inputs)
    x = vectorizer(x)
    x = keras.layers.Embedding(4000, 32)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(n_labels, activation="softmax")(x)
    keras.Model(inputs, outputs).save(path)
    return path
