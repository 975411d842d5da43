"""transformers (PyTorch) runtime: safetensors only, no remote code, local files only."""
import threading
from collections.abc import Iterator

import torch
import transformers
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForImageClassification,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    TextIteratorStreamer,
)

from . import ModelRefused
from .common import ranked

transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

GUARDS = {"local_files_only": True, "trust_remote_code": False}
MODEL_CLASSES = {
    "text-classification": AutoModelForSequenceClassification,
    "feature-extraction": AutoModel,
    "text-generation": AutoModelForCausalLM,
    "image-classification": AutoModelForImageClassification,
}
MAX_TEXT_TOKENS = 512


class TransformersPredictor:
    def __init__(self, path: str, *, task: str, device: str = "cpu"):
        if task not in MODEL_CLASSES:
            raise ModelRefused(f"Task {task!r} is not supported.")
        self.task = task
        self.device = device
        # fp16 halves memory and is what GPUs are fast at; CPUs stay in fp32 (fp16 matmuls are slow there).
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        config = AutoConfig.from_pretrained(path, **GUARDS)
        if getattr(config, "auto_map", None):
            raise ModelRefused("The model's config asks for custom code (auto_map); custom code is not allowed.")
        try:
            self.model = MODEL_CLASSES[task].from_pretrained(path, use_safetensors=True, dtype=dtype, **GUARDS)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelRefused(f"The model could not be loaded for {task}: {exc}") from exc
        self.model.to(device).eval()
        self.processor = None
        self.tokenizer = None
        if task == "image-classification":
            self.processor = AutoImageProcessor.from_pretrained(path, **GUARDS)
        else:
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(path, **GUARDS)
            except (OSError, ValueError, KeyError) as exc:
                raise ModelRefused(f"The tokenizer could not be loaded: {exc}") from exc
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
            if task == "text-generation":
                self.tokenizer.padding_side = "left"
        id2label = getattr(self.model.config, "id2label", None) or {}
        self.labels = [str(id2label[i]) for i in sorted(id2label)] if id2label else []
        self.parameter_count = int(sum(p.numel() for p in self.model.parameters()))
        self._lock = threading.Lock()

    def estimated_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    @torch.inference_mode()
    def predict(self, batch: list[dict]) -> list[dict]:
        with self._lock:
            if self.task == "image-classification":
                return self._classify_images(batch)
            texts = [item["text"] for item in batch]
            if self.task == "text-generation":
                return self._generate(texts, max(int(item.get("max_new_tokens", 32)) for item in batch))
            encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TEXT_TOKENS,
                                     return_tensors="pt").to(self.device)
            out = self.model(**encoded)
            if self.task == "feature-extraction":
                # Mean pooling over real tokens, then L2 normalisation (what sentence-transformers does).
                mask = encoded["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
                pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                return [{"embedding": [round(v, 6) for v in row], "dim": len(row)} for row in pooled.cpu().tolist()]
            probs = torch.softmax(out.logits.float(), dim=-1).cpu().tolist()
            return [{"labels": ranked(self.labels, row)} for row in probs]

    def _classify_images(self, batch: list[dict]) -> list[dict]:
        inputs = self.processor(images=[item["image"].convert("RGB") for item in batch], return_tensors="pt")
        inputs = {k: v.to(self.device, dtype=self.model.dtype) if v.is_floating_point() else v.to(self.device)
                  for k, v in inputs.items()}
        probs = torch.softmax(self.model(**inputs).logits.float(), dim=-1).cpu().tolist()
        return [{"labels": ranked(self.labels, row)[:5]} for row in probs]

    def _generation_kwargs(self, max_new_tokens: int) -> dict:
        return {"max_new_tokens": max_new_tokens, "do_sample": True, "top_k": 40, "temperature": 0.8,
                "pad_token_id": self.tokenizer.pad_token_id}

    def _generate(self, texts: list[str], max_new_tokens: int) -> list[dict]:
        encoded = self.tokenizer(texts, padding=True, return_tensors="pt").to(self.device)
        generated = self.model.generate(**encoded, **self._generation_kwargs(max_new_tokens))
        new_tokens = generated[:, encoded["input_ids"].shape[1]:]
        return [{"text": text} for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    def stream(self, item: dict) -> Iterator[str]:
        """Yield generated text piece by piece (for SSE); runs alone, not in a batch."""
        if self.task != "text-generation":
            yield from (str(out) for out in self.predict([item]))
            return
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        encoded = self.tokenizer([item["text"]], return_tensors="pt").to(self.device)
        kwargs = {**encoded, **self._generation_kwargs(int(item.get("max_new_tokens", 32))), "streamer": streamer}
        with self._lock:
            thread = threading.Thread(target=self._generate_streaming, kwargs=kwargs, daemon=True)
            thread.start()
            yield from (piece for piece in streamer if piece)
            thread.join()

    @torch.inference_mode()
    def _generate_streaming(self, **kwargs) -> None:
        self.model.generate(**kwargs)

