"""Which partitions a replica applies (shared/leader.py ``shares``): every partition to exactly
one live member, the same answer in every replica, none to a process that is not a member."""

from __future__ import annotations

import itertools

import pytest

from shared.leader import shares


@pytest.mark.parametrize(("members", "partitions"), [(1, 3), (2, 3), (3, 3), (4, 3), (2, 12), (5, 12)])
def test_every_partition_has_exactly_one_member(members: int, partitions: int) -> None:
    names = tuple(sorted(f"lk:applications:{n:02d}" for n in range(members)))
    given = [shares(names, name, partitions) for name in names]
    for a, b in itertools.combinations(given, 2):
        assert not a & b
    assert frozenset().union(*given) == frozenset(range(partitions))
    sizes = sorted(len(g) for g in given)
    assert sizes[-1] - sizes[0] <= 1  # as even as the numbers allow


def test_a_process_that_is_not_a_member_applies_nothing() -> None:
    assert shares(("lk:x:a", "lk:x:b"), "lk:x:c", 3) == frozenset()
    assert shares((), "lk:x:a", 3) == frozenset()


def test_one_member_applies_everything() -> None:
    assert shares(("lk:x:a",), "lk:x:a", 3) == {0, 1, 2}
