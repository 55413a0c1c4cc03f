"""Option declarations: every family's options are valid data, and values are checked with clear errors."""

import pytest

from services.captioning.families import BLIP, BLIP2, FAMILIES, WD14, family
from services.captioning.options import (
    FLOAT,
    INT,
    REPLACEMENTS,
    TAG_LIST,
    Option,
    coerce,
    format_replacements,
    groups,
    parse_replacements,
    parse_tag_list,
    resolve,
)
from services.errors import UserInputError


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.id)
def test_every_family_declares_valid_options(fam):
    keys = [o.key for o in fam.options]
    assert len(keys) == len(set(keys)), "an option is declared twice"
    defaults = resolve(fam.options, {})
    assert set(defaults) == set(keys)
    for option in fam.options:
        if option.enabled_when:
            other, values = option.enabled_when
            assert other in keys and all(v in fam.option(other).choice_values for v in values)
        if option.kind in (INT, FLOAT):
            assert option.minimum is not None and option.maximum is not None
    assert "batch_size" in keys and "prefix" in keys and "suffix" in keys
    assert fam.models and all("/" in m.id for m in fam.models)


def test_wd14_offers_the_issue_options_and_the_smilingwolf_models():
    keys = {o.key for o in WD14.options}
    assert {"general_threshold", "character_threshold", "exclude_tags", "tag_replacements", "replace_underscores",
            "escape_parentheses", "character_first", "rating", "max_tags", "prefix", "suffix",
            "execution_provider", "batch_size"} <= keys
    ids = {m.id.split("/")[1] for m in WD14.models}
    assert {"wd-v1-4-moat-tagger-v2", "wd-v1-4-swinv2-tagger-v2", "wd-v1-4-convnext-tagger-v2",
            "wd-v1-4-convnextv2-tagger-v2", "wd-v1-4-vit-tagger-v2", "wd-vit-tagger-v3", "wd-swinv2-tagger-v3",
            "wd-convnext-tagger-v3", "wd-vit-large-tagger-v3", "wd-eva02-large-tagger-v3"} == ids
    assert WD14.option("execution_provider").choice_values == ("auto", "cuda", "rocm", "directml", "cpu")


def test_blip_families_offer_generation_options():
    for fam in (BLIP, BLIP2):
        keys = {o.key for o in fam.options}
        assert {"decoding", "num_beams", "top_p", "prompt", "device", "precision"} <= keys
    assert {"min_length", "max_length"} <= {o.key for o in BLIP.options}
    assert BLIP2.option("quantization").choice_values == ("none", "8bit", "4bit")
    assert {m.id for m in BLIP.models} == {"Salesforce/blip-image-captioning-base",
                                          "Salesforce/blip-image-captioning-large"}
    assert any("opt" in m.id for m in BLIP2.models) and any("flan-t5" in m.id for m in BLIP2.models)


def test_enabled_when_follows_the_decoding_choice():
    top_p, beams = BLIP.option("top_p"), BLIP.option("num_beams")
    assert beams.is_enabled({"decoding": "beam"}) and not top_p.is_enabled({"decoding": "beam"})
    assert top_p.is_enabled({"decoding": "sampling"})


@pytest.mark.parametrize("value,expected", [(0.5, 0.5), ("0.25", 0.25), (1, 1.0)])
def test_float_values_are_coerced(value, expected):
    assert coerce(WD14.option("general_threshold"), value) == expected


@pytest.mark.parametrize("value,why", [(1.5, "above the maximum"), (-0.1, "below the minimum"),
                                       ("abc", "not a number"), (True, "not a number"), ("nan", "finite")])
def test_bad_numbers_name_the_option(value, why):
    with pytest.raises(UserInputError) as info:
        coerce(WD14.option("general_threshold"), value)
    assert "General threshold" in info.value.message and why in info.value.message
    assert info.value.hint  # the option's help says what it is


def test_int_options_refuse_fractions_and_accept_whole_floats():
    option = WD14.option("batch_size")
    assert coerce(option, 8.0) == 8 and coerce(option, "16") == 16
    with pytest.raises(UserInputError):
        coerce(option, 2.5)
    with pytest.raises(UserInputError):
        coerce(option, 0)


def test_choice_bool_and_text():
    assert coerce(WD14.option("rating"), "first") == "first"
    with pytest.raises(UserInputError, match="not one of"):
        coerce(WD14.option("rating"), "middle")
    assert coerce(WD14.option("character_first"), "yes") is True
    with pytest.raises(UserInputError):
        coerce(WD14.option("character_first"), "maybe")
    with pytest.raises(UserInputError):
        coerce(WD14.option("prefix"), 12)


def test_tag_lists_and_replacements_parse_from_text():
    assert parse_tag_list("a, b ,, c\nd, a") == ["a", "b", "c", "d"]
    assert coerce(WD14.option("exclude_tags"), ["x", " y "]) == ["x", "y"]
    assert parse_replacements("1girl -> woman\n\nlong_hair->long hair; ^_^ -> ") == [
        ["1girl", "woman"], ["long_hair", "long hair"], ["^_^", ""]]
    assert parse_replacements(format_replacements([["a", "b"]])) == [["a", "b"]]
    with pytest.raises(UserInputError, match="no '->'"):
        coerce(WD14.option("tag_replacements"), "just a tag")
    with pytest.raises(UserInputError):
        coerce(WD14.option("tag_replacements"), [["only one"]])


def test_resolve_fills_defaults_and_refuses_unknown_keys():
    values = resolve(WD14.options, {"general_threshold": "0.5"})
    assert values["general_threshold"] == 0.5 and values["character_threshold"] == 0.85
    with pytest.raises(UserInputError, match="general_treshold"):
        resolve(WD14.options, {"general_treshold": 0.5})


def test_groups_keep_declaration_order():
    names = [name for name, _ in groups(WD14.options)]
    assert names == ["Tags", "Output", "Performance"]


def test_unknown_family_and_bad_declarations():
    with pytest.raises(UserInputError, match="Unknown captioner"):
        family("clip")
    with pytest.raises(ValueError):
        Option("x", "X", "colour", 1, "help")
    with pytest.raises(ValueError):
        Option("x", "X", "choice", "c", "help", choices=(("a", "A"),))
    assert Option("exclude", "E", TAG_LIST, (), "h").flag == "--exclude"
    assert coerce(Option("r", "R", REPLACEMENTS, (), "h"), ()) == []
