"""Summary statistics with definitions simple enough to check by hand.

- median: the middle value of the sorted sample, or the mean of the two
  middle values when the sample has an even size;
- p90: nearest rank, the smallest value such that at least 90% of the sample
  is at or below it, i.e. ``sorted[ceil(0.9 * n) - 1]``;
- rate: numerator / denominator, None when the denominator is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict


class Stat(BaseModel):
    """A sample summarised: size, median, 90th percentile and mean (None when empty)."""

    model_config = ConfigDict(frozen=True)

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        ordered = sorted(values)
        if not ordered:
            return cls(count=0, median=None, p90=None, mean=None)
        return cls(
            count=len(ordered),
            median=round(median(ordered), 2),
            p90=round(nearest_rank(ordered, 90), 2),
            mean=round(sum(ordered) / len(ordered), 2),
        )


class Ratio(BaseModel):
    """A rate with its parts, so a reader can check it."""

    model_config = ConfigDict(frozen=True)

    numerator: int
    denominator: int
    rate: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Ratio:
        rate = round(numerator / denominator, 4) if denominator else None
        return cls(numerator=numerator, denominator=denominator, rate=rate)


def median(ordered: Sequence[float]) -> float:
    """Median of an already sorted, non-empty sample."""
    n = len(ordered)
    middle = n // 2
    return float(ordered[middle]) if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def nearest_rank(ordered: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of an already sorted, non-empty sample."""
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return float(ordered[rank - 1])
