"""Percentiles: exact (nearest rank) over one day's samples, and merged over days from log-spaced histograms.

A day's p50/p95 are exact. Percentiles over a range of days come from the days' histograms added together:
bucket b holds samples in [RATIO**(b-1), RATIO**b) milliseconds and is read as its geometric middle, so such a
percentile is within 2% of the exact one (and exact below 58 ms).
"""
import math
from collections.abc import Iterable, Mapping, Sequence

RATIO = 1.02
_LOG_RATIO = math.log(RATIO)


def nearest_rank(sorted_values: Sequence[int], percentile: int) -> int | None:
    """The smallest value with at least `percentile`% of the values at or below it; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percentile * len(sorted_values) / 100))
    return sorted_values[rank - 1]


def bucket_of(ms: int) -> int:
    if ms <= 0:
        return 0
    return int(math.log(ms) / _LOG_RATIO) + 1


def bucket_value(bucket: int) -> int:
    """The milliseconds a bucket stands for (its geometric middle, rounded)."""
    if bucket <= 0:
        return 0
    return round(RATIO ** (bucket - 0.5))


def histogram(values: Iterable[int]) -> dict[str, int]:
    """{bucket: count} with string keys (it is stored as JSON)."""
    counts: dict[str, int] = {}
    for value in values:
        key = str(bucket_of(value))
        counts[key] = counts.get(key, 0) + 1
    return counts


def histogram_merge(histograms: Iterable[Mapping[str, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for item in histograms:
        for key, count in (item or {}).items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return merged


def histogram_percentile(counts: Mapping[int, int], percentile: int) -> int | None:
    """Nearest rank over a merged histogram, read as the bucket's value; None when it is empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(percentile * total / 100))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(counts))
