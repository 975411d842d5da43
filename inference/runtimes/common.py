"""Helpers shared by the runtimes that import no ML framework."""


def ranked(labels: list[str], probs: list[float]) -> list[dict]:
    """Labels with their scores, best first; `LABEL_i` when the model has no names."""
    names = labels if len(labels) == len(probs) else [f"LABEL_{i}" for i in range(len(probs))]
    pairs = sorted(zip(names, probs, strict=True), key=lambda pair: pair[1], reverse=True)
    return [{"label": name, "score": round(float(score), 6)} for name, score in pairs]
