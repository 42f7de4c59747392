"""`partition_changes.apply` alone: request order, one bulk add per run of restores, and the budget counted in
changes started (the Dagster side is tests/dagster/test_partition_changes.py)."""

from __future__ import annotations

import pytest

from leap_core.partition_changes import PartitionChange, apply

CHANGES = [PartitionChange(1, "a", adds=False), PartitionChange(2, "b", adds=True),
           PartitionChange(3, "c", adds=True), PartitionChange(4, "a", adds=True), PartitionChange(5, "d", adds=False)]


def test_changes_go_in_request_order_with_consecutive_restores_added_together() -> None:
    calls: list[tuple[str, object]] = []
    applied = apply(CHANGES, add=lambda keys: calls.append(("add", keys)),
                    remove=lambda key: calls.append(("remove", key)), budget_s=3600)
    assert calls == [("remove", "a"), ("add", ["b", "c", "a"]), ("remove", "d")]
    assert applied == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("start, first_call, ids", [
    (0, ("remove", "a"), [1]), (1, ("add", ["b", "c", "a"]), [2, 3, 4])])
def test_a_spent_budget_still_applies_the_first_change_and_no_other(
    start: int, first_call: tuple[str, object], ids: list[int]
) -> None:
    calls: list[tuple[str, object]] = []
    applied = apply(CHANGES[start:], add=lambda keys: calls.append(("add", keys)),
                    remove=lambda key: calls.append(("remove", key)), budget_s=0)
    assert calls == [first_call] and applied == ids
