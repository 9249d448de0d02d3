"""Exponential backoff with jitter, reset after a success."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.current = minimum

    def next(self) -> float:
        """The delay to wait now; the following one doubles, up to the maximum."""
        delay = self.current * random.uniform(0.8, 1.2)
        self.current = min(self.maximum, self.current * 2)
        return delay

    def reset(self) -> None:
        self.current = self.minimum
