"""Builders of the demo models (and the tiny models the tests build). Worker/command side only: imports ML.

Everything is built locally from data we ship: no hub downloads.
"""
import csv
import os
import random
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data"
SHAPES = ["circle", "square", "triangle"]


def zip_folder(folder: Path, zip_path: Path) -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return zip_path


def read_labelled_csv(name: str) -> tuple[list[str], list[str]]:
    with open(DEMO_DATA / name, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def read_financial_news() -> tuple[list[str], list[str]]:
    with open(DEMO_DATA / "financial_news.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def build_tokenizer(texts: list[str], out_dir: Path, *, vocab_size: int = 2000, causal: bool = False):
    """A byte-level BPE tokenizer trained by `tokenizers` on our own text, saved for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<s>", "</s>"] if causal else ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tokenizer = Tokenizer(models.BPE(unk_token=specials[1]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    roles = ("pad_token", "unk_token", "bos_token", "eos_token") if causal else (
        "pad_token", "unk_token", "cls_token", "sep_token")
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, **dict(zip(roles, specials, strict=True)))
    fast.model_max_length = 512
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_bert(out_dir: Path, *, labels: list[str] | None = None, texts: list[str] | None = None,
                    hidden: int = 32, layers: int = 1, max_positions: int = 128) -> Path:
    """A randomly initialised BERT (classifier when `labels`), with its own tokenizer: a test model."""
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    texts = texts or ["the market rose", "the market fell", "shares were flat", "profits climbed sharply"]
    tokenizer = build_tokenizer(texts * 5, out_dir, vocab_size=300)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 2, max_position_embeddings=max_positions,
                        pad_token_id=tokenizer.pad_token_id)
    if labels:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        model = BertForSequenceClassification(config)
    else:
        model = BertModel(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def build_causal_lm(out_dir: Path, *, lines: list[str], hidden: int = 64, layers: int = 2, train_steps: int = 0,
                    seed: int = 0) -> Path:
    """A small GPT-2 shaped causal LM; trained `train_steps` steps on `lines` (the NPC corpus)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    # One thread: on a shared 2-core machine more threads only fight each other (10x slower under load).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tokenizer = build_tokenizer(lines, out_dir, vocab_size=1200 if train_steps else 300, causal=True)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=hidden, n_layer=layers, n_head=4, n_positions=256,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    model = GPT2LMHeadModel(config)
    if train_steps:
        encoded = [tokenizer(line + tokenizer.eos_token)["input_ids"] for line in lines]
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        rng = random.Random(seed)
        model.train()
        for _step in range(train_steps):
            batch = rng.sample(encoded, min(32, len(encoded)))
            width = max(len(ids) for ids in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_token_id)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if os.environ.get("DEMO_BUILD_VERBOSE") and _step % 50 == 0:
                print(f"step {_step} loss {loss.item():.3f}", flush=True)  # noqa: T201
        model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir, safe_serialization=True)
    torch.set_num_threads(threads)
    return out_dir


def build_keras_text_classifier(out_path: Path, *, texts: list[str], labels: list[str], epochs: int = 12,
                                seed: int = 0) -> tuple[list[str], float]:
    """TextVectorization + embedding + pooling + softmax, trained on `texts`; answers (classes, held-out accuracy)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    classes = sorted(set(labels))
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    split = max(1, int(len(order) * 0.8)) if len(order) > 4 else len(order)
    train, test = order[:split], order[split:] or order[:1]
    y = np.array([classes.index(label) for label in labels])
    vectorizer = keras.layers.TextVectorization(max_tokens=4000, output_sequence_length=40)
    vectorizer.adapt(tf.constant([texts[i] for i in train]))
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Reshape(())(inputs)
    x = vectorizer(x)
    x = keras.layers.Embedding(4000, 32)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(len(classes), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Keras 3 rejects numpy string arrays: feed tf.data built from tf.constant.
    train_ds = tf.data.Dataset.from_tensor_slices((tf.constant([[texts[i]] for i in train]), y[train])).batch(32)
    test_ds = tf.data.Dataset.from_tensor_slices((tf.constant([[texts[i]] for i in test]), y[test])).batch(64)
    model.fit(train_ds, epochs=epochs, verbose=0)
    accuracy = float(model.evaluate(test_ds, verbose=0)[1])
    model.save(out_path)
    return classes, accuracy


def shape_image(shape: str, rng: random.Random, size: int = 32, *, outlines: bool = False):
    """A random coloured circle, square or triangle on a random background (half outlines when `outlines`)."""
    from PIL import Image, ImageDraw

    background = tuple(rng.randint(0, 80) for _ in range(3))
    colour = tuple(rng.randint(150, 255) for _ in range(3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    radius = rng.randint(size // 5, size // 3)
    cx, cy = rng.randint(radius + 1, size - radius - 2), rng.randint(radius + 1, size - radius - 2)
    # Filled, or drawn as an outline with a pen (what people draw on the Try-it canvas).
    style = {"fill": colour} if not outlines or rng.random() < 0.5 else {
        "outline": colour, "width": rng.randint(1, max(1, size // 12))}
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], **style)
    elif shape == "square":
        draw.rectangle([cx - radius, cy - radius, cx + radius, cy + radius], **style)
    else:
        points = [(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)]
        if "fill" in style:
            draw.polygon(points, fill=colour)
        else:
            draw.line([*points, points[0]], fill=colour, width=style["width"], joint="curve")
    return image


def build_keras_shape_cnn(out_path: Path, *, per_class: int = 200, epochs: int = 8, size: int = 32,
                          seed: int = 0, channels: int = 1, outlines: bool = False) -> tuple[list[str], float]:
    """A small CNN trained on generated shapes (grey levels by default); answers (classes, held-out accuracy)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    rng = random.Random(seed)
    images, ys = [], []
    for index, shape in enumerate(SHAPES):
        for _ in range(per_class):
            image = shape_image(shape, rng, size, outlines=outlines)
            image = image.convert("L") if channels == 1 else image
            images.append(np.asarray(image, dtype="float32").reshape(size, size, channels))
            ys.append(index)
    x = np.stack(images)
    y = np.array(ys)
    order = np.random.default_rng(seed).permutation(len(y))
    split = int(len(order) * 0.8)
    model = keras.Sequential([
        keras.Input(shape=(size, size, channels)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(len(SHAPES), activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(tf.constant(x[order[:split]]), tf.constant(y[order[:split]]), epochs=epochs, batch_size=32, verbose=0)
    accuracy = float(model.evaluate(tf.constant(x[order[split:]]), tf.constant(y[order[split:]]), verbose=0)[1])
    model.save(out_path)
    return list(SHAPES), accuracy


def build_keras_ngram_classifier(out_path: Path, *, texts: list[str], labels: list[str], epochs: int = 6,
                                 seed: int = 0, split: str = "whitespace", ngrams: int | tuple = 2,
                                 max_tokens: int = 20000, tests: dict[str, tuple[list[str], list[str]]] | None = None,
                                 ) -> tuple[list[str], dict]:
    """A bag of n-grams (TF-IDF) into a small dense network: robust to word order and unseen names.

    `split="character"` with ngrams (1, 2, 3) gives a character n-gram model (language identification).
    Answers (classes, metrics): accuracy on a 20% held-out split and on each of `tests` ({name: (texts, labels)}),
    as `<name>_accuracy` with `<name>_examples` and `<name>_errors` (text, predicted, expected).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    classes = sorted(set(labels))
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    cut = int(len(order) * 0.8)
    train, held = order[:cut], order[cut:]
    y = np.array([classes.index(label) for label in labels])
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="tf_idf", ngrams=ngrams,
                                                split=split, standardize="lower_and_strip_punctuation")
    vectorizer.adapt(tf.constant([texts[i] for i in train]))
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Reshape(())(inputs)
    x = vectorizer(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(len(classes), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    def dataset(rows: list[int], batch: int) -> "tf.data.Dataset":
        return tf.data.Dataset.from_tensor_slices((tf.constant([[texts[i]] for i in rows]), y[rows])).batch(batch)

    model.fit(dataset(train, 32), epochs=epochs, verbose=0)
    metrics = {"held_out_accuracy": round(float(model.evaluate(dataset(held, 256), verbose=0)[1]), 4),
               "examples": len(texts)}
    for name, (test_texts, test_labels) in (tests or {}).items():
        probs = np.asarray(model(tf.constant(test_texts), training=False))
        predicted = [classes[i] for i in probs.argmax(axis=1)]
        metrics[f"{name}_accuracy"] = round(sum(p == t for p, t in zip(predicted, test_labels, strict=True))
                                            / len(test_labels), 4)
        metrics[f"{name}_examples"] = len(test_labels)
        metrics[f"{name}_errors"] = [[t, p, g] for t, p, g in zip(test_texts, predicted, test_labels, strict=True)
                                     if p != g]
    model.save(out_path)
    return classes, metrics
