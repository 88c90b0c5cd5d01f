"""Repeated warnings are written with backoff and a count, not once per occurrence."""

from __future__ import annotations

from shared.logs import Repeats


def test_repeats_back_off_and_count() -> None:
    now = [0.0]
    repeats = Repeats(first=1.0, longest=8.0, clock=lambda: now[0])
    key = ("kafka", "connection refused")
    written: list[tuple[float, int]] = []
    for step in range(701):  # one message every 10 ms for 7 s
        now[0] = step * 0.01
        held = repeats.admit(key)
        if held is not None:
            written.append((round(now[0], 2), held))
    assert written[0] == (0.0, 0)
    assert [t for t, _ in written] == [0.0, 1.0, 3.0, 7.0]  # gaps of 1, 2, 4 s
    assert sum(held for _, held in written) + len(written) == 701  # nothing lost from the count


def test_other_messages_and_quiet_periods_start_afresh() -> None:
    now = [0.0]
    repeats = Repeats(first=1.0, longest=8.0, clock=lambda: now[0])
    assert repeats.admit(("a", "x")) == 0
    assert repeats.admit(("a", "x")) is None
    assert repeats.admit(("b", "x")) == 0  # another source
    now[0] = 100.0
    assert repeats.admit(("a", "x")) == 0  # quiet for long: written at once
