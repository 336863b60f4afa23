"""`per_policy`: one answer per policy object and arguments, never another object's answer."""

from __future__ import annotations

import gc

from tierkit.policy import labels
from tierkit.policy.loader import parse_policy, preset_text
from tierkit.policy.memo import per_policy


class Subject:
    def __init__(self, name: str) -> None:
        self.name = name


def test_an_answer_is_worked_out_once_per_object_and_arguments() -> None:
    calls: list[tuple[str, object]] = []

    @per_policy
    def work(subject: Subject, lang: str, names: list[str]) -> str:
        calls.append((subject.name, lang))
        return f"{subject.name}:{lang}:{','.join(names)}"

    one, two = Subject("one"), Subject("two")
    assert work(one, "zh", ["a"]) == "one:zh:a"
    assert work(one, "zh", ["a"]) == "one:zh:a"
    assert work(one, "en", ["a"]) == "one:en:a"
    assert work(one, "zh", ["b"]) == "one:zh:b"
    assert work(two, "zh", ["a"]) == "two:zh:a"
    assert calls == [("one", "zh"), ("one", "en"), ("one", "zh"), ("two", "zh")]


def test_an_id_given_again_to_another_object_does_not_answer_for_it() -> None:
    @per_policy
    def name_of(subject: Subject) -> str:
        return subject.name

    # CPython gives a freed object's id to the next one made: a memo keyed by id alone that let
    # its subjects go would answer "s0" for s1 here
    for i in range(200):
        subject = Subject(f"s{i}")
        assert name_of(subject) == f"s{i}"
        del subject
        gc.collect()


def test_labels_callers_get_their_own_copy() -> None:
    """A caller changing the labels it got changes nobody else's."""
    policy = parse_policy(preset_text("retail"), "retail").policy
    first = labels.tier_labels(policy, [], "zh")
    first.clear()
    again = labels.tier_labels(policy, [], "zh")
    assert again and again == {t.name: t.label.text("zh", t.name) for t in policy.tiers if t.label} | {
        t.name: t.name for t in policy.tiers if not t.label
    }
