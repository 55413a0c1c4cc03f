"""The batch engine's change sets and the incremental tag statistics."""

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.captions.changes import Entry, from_texts, plan
from services.captions.operations import AddTags, OpContext, RemoveTags, RenameTag
from services.captions.stats import TagStats
from services.captions.tags import TagFormat
from services.errors import OperationCancelled

FMT = TagFormat(", ")
CTX = OpContext(FMT)


def test_plan_keeps_only_changed_captions_and_skips_locked_ones():
    entries = [Entry(1, "a, b"), Entry(2, "sks, a"), Entry(3, None), Entry(4, "a", locked="undecodable")]
    changes = plan(AddTags(("sks",), "front"), entries, CTX)
    assert changes.changes == {1: ("a, b", "sks, a, b"), 3: (None, "sks")}
    assert changes.skipped == {4: "undecodable"}
    assert changes.tag_delta == {"sks": 2}
    assert changes.examined == 4
    assert len(changes) == 2 and changes.title.startswith("Add")


def test_plan_reports_progress_and_can_be_cancelled():
    entries = [Entry(i, "a") for i in range(2000)]
    seen = []
    plan(RemoveTags(("a",)), entries, CTX, progress=seen.append, every=500)
    assert seen == [500, 1000, 1500, 2000]
    with pytest.raises(OperationCancelled):
        plan(RemoveTags(("a",)), entries, CTX, cancelled=lambda: True)


def test_from_texts_ignores_unchanged():
    changes = from_texts("Edit", {1: "a", 2: "b"}, {1: "a", 2: "b, c"}, FMT)
    assert changes.changes == {2: ("b", "b, c")}
    assert changes.tag_delta == {"c": 1}
    assert changes.inverse_delta() == {"c": -1}


def test_stats_count_captions_not_occurrences():
    stats = TagStats.from_texts(["a, b, a", "a", None, ""], FMT)
    assert stats.count("a") == 2 and stats.count("b") == 1 and stats.count("zzz") == 0


def test_stats_apply_appends_new_tags_and_keeps_zeroed_ones():
    stats = TagStats.from_texts(["a, b"], FMT)
    changed, new = stats.apply({"a": -1, "c": 1})
    assert changed == [stats.index["a"]] and new == 1
    assert stats.names[-1] == "c" and stats.count("a") == 0
    assert ("a", 0) not in stats.live() and ("c", 1) in stats.live()


def test_complete_ranks_prefix_then_word_then_substring_by_count():
    stats = TagStats.from_texts(["long hair", "long hair", "hair ornament", "red hair", "red hair", "red hair",
                                 "hairband", "chair"], FMT)
    assert stats.complete("hair") == ["hair ornament", "hairband", "red hair", "long hair", "chair"]
    assert stats.complete("hair", exclude=["hairband"], limit=2) == ["hair ornament", "red hair"]
    assert stats.complete("  ") == []


tag = st.sampled_from(["a", "b", "c", "d", "long hair", "sks", ""])
caption = st.lists(tag, max_size=6).map(lambda ts: ", ".join(ts))


@settings(max_examples=60, deadline=None)
@given(st.lists(caption, min_size=1, max_size=30), st.integers(0, 10_000))
def test_incremental_counts_equal_a_full_recount(captions, seed):
    rng = random.Random(seed)
    texts = dict(enumerate(captions))
    stats = TagStats.from_texts(texts.values(), FMT)
    ops = [AddTags(("sks",), "front"), RemoveTags(("a",)), RenameTag(("b",), "c"), AddTags(("d",), "end")]
    for _ in range(4):
        op = rng.choice(ops)
        keys = rng.sample(sorted(texts), k=rng.randint(1, len(texts)))
        changes = plan(op, [Entry(k, texts[k]) for k in keys], CTX)
        texts.update(changes.new_texts())
        stats.apply(changes.tag_delta)
        expected = Counter()
        for text in texts.values():
            expected.update(FMT.tag_set(text))
        assert {t: c for t, c in stats.counts.items() if c} == dict(expected)


def test_union_counts_orders_by_count_then_first_appearance():
    from services.captions.stats import union_counts

    counted, total = union_counts(["b, a", "a, c, a", None, "c"], FMT)
    assert counted == [("a", 2), ("c", 2), ("b", 1)] and total == 4
