"""SiblingIndex: the `siblings` of many messages from one children map, each list sorted once."""

from __future__ import annotations

from typing import Any

import pytest

import app.models as models
from app.models import SiblingIndex, Siblings


def test_each_message_gets_its_parents_children_oldest_first_and_its_position() -> None:
    index = SiblingIndex({None: [7, 1], 1: [9, 2, 5], 2: [3]})
    assert index.of(1, None) == Siblings((1, 7), 0)
    assert index.of(7, None) == Siblings((1, 7), 1)
    assert index.of(5, 1) == Siblings((2, 5, 9), 1)
    assert index.of(9, 1) == Siblings((2, 5, 9), 2)
    assert index.of(3, 2) == Siblings((3,), 0)
    # Same answers as the one-off constructor the chat service uses for a single message.
    assert index.of(5, 1) == Siblings.of(5, [9, 2, 5])


def test_a_message_missing_from_the_map_is_its_own_only_sibling() -> None:
    index = SiblingIndex({1: [2, 3]})
    assert index.of(4, 1) == Siblings((4,), 0)
    assert index.of(8, 6) == Siblings((8,), 0)


def test_thousands_of_replies_to_one_question_sort_their_list_once(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = list(range(5000, 1, -1))
    calls = 0
    real_sorted = sorted

    def counting_sorted(items: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real_sorted(items, **kwargs)

    monkeypatch.setattr(models, "sorted", counting_sorted, raising=False)
    index = SiblingIndex({1: replies})
    found = [index.of(reply, 1) for reply in replies]
    assert calls == 1
    assert [s.index for s in found] == [len(replies) - 1 - i for i in range(len(replies))]
    assert all(s.ids is found[0].ids for s in found)  # one shared tuple, not 5,000 copies


def test_a_map_of_only_the_branching_parents_keeps_nothing_for_the_others() -> None:
    index = SiblingIndex({4: [6, 5]})
    assert [index.of(m, m - 1) for m in (2, 3, 4)] == [Siblings((2,), 0), Siblings((3,), 0), Siblings((4,), 0)]
    assert index.of(6, 4) == Siblings((5, 6), 1)
    assert list(index._sorted) == [4]  # one entry, for the one parent with several children
