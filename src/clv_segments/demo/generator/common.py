"""What every entity's simulation shares: id builders, the clock, one block's context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clv_segments.demo.generator.truth import DAY_US, FX_RATES, ShopSettings
from clv_segments.demo.rawfiles import (
    EVENT_TYPES,
)

# --- small vectorised helpers -----------------------------------------------------------------


def within_segment_index(counts: np.ndarray) -> np.ndarray:
    """For segments of the given sizes laid end to end: the position of each element in its own."""
    counts = counts.astype(np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded number, built in Arrow (fast for tens of millions of ids)."""
    digits = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width, "0"), "")


def customer_ids(global_index: np.ndarray) -> pa.Array:
    return ids("C", global_index + 1, 8)


class Clock:
    """Simulation time is float days since the window start; files get UTC microseconds."""

    def __init__(self, as_of_date: date, years: float) -> None:
        self.as_of_date = as_of_date
        self.window_days = int(round(years * 365.25))
        end = datetime(as_of_date.year, as_of_date.month, as_of_date.day, tzinfo=UTC)
        end += timedelta(days=1)  # the whole as_of_date is inside the window
        self.end_us = int(end.timestamp()) * 1_000_000
        self.start_us = self.end_us - self.window_days * DAY_US
        self.start = end - timedelta(days=self.window_days)

    def micros(self, t: np.ndarray) -> np.ndarray:
        us = self.start_us + np.floor(np.asarray(t, dtype=np.float64) * DAY_US).astype(np.int64)
        return us

    def campaign_times(self, settings: ShopSettings) -> np.ndarray:
        first = (settings.campaign_weekday - self.start.weekday()) % 7
        days = np.arange(first, self.window_days, 7, dtype=np.float64)
        return days + settings.campaign_hour / 24.0

    def campaign_ids(self, times: np.ndarray) -> pa.Array:
        labels = [
            "cmp_" + (self.start + timedelta(days=float(t))).strftime("%Y%m%d") for t in times
        ]
        return pa.array(labels, type=pa.string())


# --- one block of customers ---------------------------------------------------------------

ORDER_PROCESS, ORDER_CANCELLED, ORDER_FULL_REFUND, ORDER_ZERO = 0, 1, 2, 3
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
CURRENCIES = list(FX_RATES)


@dataclass
class Block:
    """Arrow tables of one block, plus what the dirty-row injection needs to know."""

    tables: dict[str, pa.Table]
    order_kind: np.ndarray  # per row of tables["orders"]: ORDER_PROCESS, ORDER_CANCELLED, ...
    stats: dict[str, int]


@dataclass
class Context:
    """What every step of a block needs: the random stream, the clock, the settings, counters."""

    rng: np.random.Generator
    clock: Clock
    settings: ShopSettings
    counters: dict[str, int]  # last order / refund / event number used, across blocks
    stats: dict[str, int]

    @property
    def window(self) -> float:
        return float(self.clock.window_days)

    def next_numbers(self, counter: str, k: int) -> np.ndarray:
        numbers = self.counters[counter] + 1 + np.arange(k, dtype=np.int64)
        self.counters[counter] += k
        return numbers
