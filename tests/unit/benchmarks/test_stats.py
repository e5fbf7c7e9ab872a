"""The benchmark's arithmetic: nearest-rank percentiles, rates, drains timed from the
first progress, ratios."""

from __future__ import annotations

import pytest

from benchmarks.stats import drain_rate, percentile, rate_in_window, ratio, summary


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order of the input does not matter


def test_percentile_refuses_no_values_and_a_rank_outside_0_to_100() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="not in"):
        percentile([1.0], 0)
    with pytest.raises(ValueError, match="not in"):
        percentile([1.0], 101)


def test_summary_rounds_to_a_tenth_and_is_just_a_count_when_empty() -> None:
    assert summary([]) == {"count": 0}
    assert summary([1.04, 2.06, 10.0]) == {
        "count": 3,
        "p50_ms": 2.1,
        "p95_ms": 10.0,
        "p99_ms": 10.0,
        "max_ms": 10.0,
    }


def test_rate_in_window_counts_the_moments_inside_start_inclusive_end_exclusive() -> None:
    moments = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert rate_in_window(moments, 1.0, 3.0) == 2.0  # 1.0, 1.5, 2.0, 2.5 in 2 s
    with pytest.raises(ValueError):
        rate_in_window(moments, 2.0, 2.0)


def test_ratio_is_two_decimals_and_unknown_without_both_figures() -> None:
    assert ratio(50.0, 200.0) == 0.25
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(None, 3.0) is None
    assert ratio(3.0, 0.0) is None


def test_a_drain_is_timed_from_the_first_progress_to_the_first_sample_at_the_end() -> None:
    samples = [(0.0, 100), (5.0, 100), (6.0, 120), (7.0, 170), (8.0, 200), (9.0, 200)]
    drain = drain_rate(samples, end=200)
    assert drain is not None
    assert drain.backlog == 100  # waiting when the consumer started
    assert drain.events == 80  # 200 - 120: what was committed after the first progress
    assert drain.seconds == 2.0  # 6.0 -> 8.0: the start and group join left out
    assert drain.per_second == 40.0
    assert (drain.first, drain.last, drain.samples) == (2, 4, 3)


def test_no_drain_without_progress_without_reaching_the_end_or_between_two_samples() -> None:
    assert drain_rate([], end=10) is None
    assert drain_rate([(0.0, 0), (1.0, 0)], end=10) is None  # never moved
    assert drain_rate([(0.0, 0), (1.0, 5), (2.0, 8)], end=10) is None  # never finished
    assert drain_rate([(0.0, 0), (1.0, 10)], end=10) is None  # all between two samples
