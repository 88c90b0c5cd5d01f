"""shared.backoff: an idle poller waits longer each time up to the ceiling, and the poll
interval again once it found work."""

from __future__ import annotations

from shared.backoff import IdleBackoff


def test_idle_waits_double_to_the_ceiling_and_work_resets_them() -> None:
    idle = IdleBackoff(0.02, 1.0)
    assert [idle.wait() for _ in range(8)] == [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0]
    idle.reset()
    assert idle.wait() == 0.02


def test_a_ceiling_below_the_interval_keeps_the_interval() -> None:
    idle = IdleBackoff(0.5, 0.1)
    assert [idle.wait(), idle.wait()] == [0.5, 0.5]


def test_a_poller_that_is_woken_across_processes_backs_off_to_a_higher_ceiling() -> None:
    """The relay with a LISTEN connection: up to the fallback poll; without it (lost), the
    usual ceiling again at once."""
    idle = IdleBackoff(1.0, 2.0)
    assert [idle.wait(10.0) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert idle.wait() == 2.0
