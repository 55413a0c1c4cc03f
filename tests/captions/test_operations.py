"""Every caption operation, as a pure function: what it does, what it leaves alone."""

import pytest

from services.captions.operations import (
    AddTags,
    FindReplace,
    MoveToFront,
    OpContext,
    PrefixSuffix,
    RemoveDuplicates,
    RemoveTags,
    RenameTag,
    SetTags,
    SetText,
    SortTags,
)
from services.captions.tags import TagFormat
from services.errors import UserInputError

CTX = OpContext(TagFormat(", "))


def run(op, text, ctx=CTX):
    return op.apply(text, ctx)


# --- tag format --------------------------------------------------------------------------

@pytest.mark.parametrize("sep,text,tags", [
    (", ", "a, b,c ,  d", ["a", "b", "c", "d"]),
    (",", "a,b, c", ["a", "b", "c"]),
    ("\n", "a\nb c\n d\n", ["a", "b c", "d"]),
    (", ", "", []),
    (", ", "   \n", []),
    (", ", "a, , b", ["a", "", "b"]),
])
def test_split(sep, text, tags):
    assert TagFormat(sep).split(text) == tags


def test_join_keeps_the_trailing_whitespace():
    fmt = TagFormat(", ")
    assert fmt.rejoin("a, b\n", ["b", "a"]) == "b, a\n"
    assert fmt.rejoin(None, ["x"]) == "x"
    assert fmt.tag_set("a, b, a, ") == {"a", "b"}


# --- add -----------------------------------------------------------------------------------

def test_add_at_front_end_and_index():
    assert run(AddTags(("sks",), "front"), "a, b") == "sks, a, b"
    assert run(AddTags(("sks",), "end"), "a, b") == "a, b, sks"
    assert run(AddTags(("x", "y"), "index", index=1), "a, b, c") == "a, x, y, b, c"
    assert run(AddTags(("x",), "index", index=99), "a, b") == "a, b, x"


def test_add_skips_tags_already_present_and_creates_missing_captions():
    assert run(AddTags(("a",), "front"), "a, b") is None
    assert run(AddTags(("a", "z"), "front"), "b, a") == "z, b, a"
    assert run(AddTags(("sks",), "front"), None) == "sks"
    assert run(AddTags(("sks",), "front"), "") == "sks"


def test_add_respects_keep_tokens():
    assert run(AddTags(("new",), "front", keep_tokens=2), "k1, k2, c") == "k1, k2, new, c"
    assert run(AddTags(("new",), "index", index=0, keep_tokens=1), "k1") == "k1, new"


def test_add_rejects_empty_input():
    with pytest.raises(UserInputError):
        AddTags(("", "  "), "front")
    with pytest.raises(UserInputError):
        AddTags(("a",), "middle")


# --- remove / rename / merge ----------------------------------------------------------

def test_remove():
    assert run(RemoveTags(("b",)), "a, b, c, b") == "a, c"
    assert run(RemoveTags(("z",)), "a, b") is None
    assert run(RemoveTags((".*hair",), regex=True), "long hair, red hair, hairband, smile") == "hairband, smile"
    assert run(RemoveTags(("a",)), None) is None


def test_remove_bad_regex_is_a_user_error():
    with pytest.raises(UserInputError):
        RemoveTags(("([",), regex=True)


def test_rename_and_merge():
    assert run(RenameTag(("cat",), "feline"), "a, cat, b") == "a, feline, b"
    assert run(RenameTag(("cat",), "a"), "a, cat, b") == "a, b"          # merge into an existing tag
    assert run(RenameTag(("cat",), "a"), "cat, b, a") == "a, b"          # first position wins
    assert run(RenameTag(("kitty", "cat"), "cat"), "kitty, x, cat") == "cat, x"
    assert run(RenameTag(("dog",), "x"), "a, b") is None
    assert run(RenameTag(("a",), "a"), "a, b") is None
    with pytest.raises(UserInputError):
        RenameTag(("a",), " ")


# --- find and replace --------------------------------------------------------------------

def test_find_replace_plain_is_literal():
    assert run(FindReplace("a.b", "X"), "a.b, aab") == "X, aab"
    assert run(FindReplace("Cat", "dog", case_sensitive=False), "cat, CAT") == "dog, dog"
    assert run(FindReplace(r"\1", "$"), "x") is None


def test_find_replace_regex_with_groups():
    assert run(FindReplace(r"(\w+) hair", r"hair \1", mode="regex"), "red hair, smile") == "hair red, smile"
    with pytest.raises(UserInputError):
        FindReplace("(", "x", mode="regex")
    with pytest.raises(UserInputError):
        run(FindReplace("a", r"\9", mode="regex"), "a")


def test_find_replace_whole_tag():
    assert run(FindReplace("cat", "dog", mode="whole_tag"), "cat, cats, a cat") == "dog, cats, a cat"
    assert run(FindReplace("CAT", "dog", mode="whole_tag", case_sensitive=False), "cat, x") == "dog, x"
    assert run(FindReplace("cat", "", mode="whole_tag"), "cat, x") == "x"        # empty replacement removes
    assert run(FindReplace("cat", "x", mode="whole_tag"), "cat, x, y") == "x, y"  # merges
    assert run(FindReplace("cat", "dog", mode="whole_tag"), "x") is None


def test_find_replace_keeps_the_trailing_newline():
    assert run(FindReplace("a", "b"), "a\n") == "b\n"


# --- dedupe, sort, move --------------------------------------------------------------------

def test_remove_duplicates_and_empty():
    assert run(RemoveDuplicates(), "a, b, a, , c, b") == "a, b, c"
    assert run(RemoveDuplicates(empty=False), "a, , a") == "a, "
    assert run(RemoveDuplicates(duplicates=False), "a, , a") == "a, a"
    assert run(RemoveDuplicates(), "a, b") is None


def test_sort_alphabetical_and_by_frequency_with_keep_tokens():
    assert run(SortTags("alphabetical"), "b, C, a") == "a, b, C"
    assert run(SortTags("alphabetical", descending=True), "b, c, a") == "c, b, a"
    assert run(SortTags("alphabetical", keep_tokens=1), "z, b, a") == "z, a, b"
    ctx = OpContext(TagFormat(", "), counts={"rare": 1, "common": 50, "mid": 5})
    assert run(SortTags("frequency"), "rare, mid, common", ctx) == "common, mid, rare"
    assert run(SortTags("frequency", descending=True), "mid, common, rare", ctx) == "rare, mid, common"
    assert run(SortTags("alphabetical"), "a, b") is None


def test_move_to_front():
    assert run(MoveToFront(("c", "b")), "a, b, c, d") == "c, b, a, d"
    assert run(MoveToFront(("d",), keep_tokens=1), "k, a, d") == "k, d, a"
    assert run(MoveToFront(("z",)), "a, b") is None
    assert run(MoveToFront(("k",), keep_tokens=1), "k, a") is None


# --- text ------------------------------------------------------------------------------------

def test_prefix_and_suffix_are_not_repeated():
    op = PrefixSuffix("a photo of sks, ", ".")
    assert run(op, "a dog on grass") == "a photo of sks, a dog on grass."
    assert run(op, "a photo of sks, a dog on grass.") is None
    assert run(op, None) == "a photo of sks, ."
    with pytest.raises(UserInputError):
        PrefixSuffix("", "")


def test_set_text_and_set_tags():
    assert run(SetText("new"), "old") == "new"
    assert run(SetText("same"), "same") is None
    assert run(SetTags(("b", "a")), "a, b\n") == "b, a\n"
    assert run(SetTags(("a", "b")), "a,b") is None  # same tags: the file's own spacing is kept


def test_newline_separated_captions():
    ctx = OpContext(TagFormat("\n"))
    assert run(AddTags(("x",), "front"), "a\nb\n", ctx) == "x\na\nb\n"
    assert run(RemoveTags(("a",)), "a\nb", ctx) == "b"


def test_every_operation_describes_itself():
    ops = [AddTags(("a",)), RemoveTags(("a",)), RenameTag(("a", "b"), "c"), FindReplace("a", "b"),
           RemoveDuplicates(), SortTags(), MoveToFront(("a",)), PrefixSuffix("p"), SetText("x")]
    for op in ops:
        assert op.describe() and isinstance(op.describe(), str)
