"""The filter language and the sort orders, on a real scanned folder."""

from __future__ import annotations

import os

import pytest

from services.dataset.filter_query import compile_query, filter_keys, sort_keys, tokenize
from services.dataset.scanner import scan_folders
from services.errors import UserInputError
from tests.dataset.files import write_jpeg, write_png


@pytest.fixture
def ws(tmp_path):
    write_jpeg(tmp_path / "5_cats" / "cat1.jpg", (1024, 768), seed=1)
    (tmp_path / "5_cats" / "cat1.txt").write_text("cat, long_hair, sitting, indoors", encoding="utf-8")
    write_jpeg(tmp_path / "5_cats" / "cat2.jpg", (300, 900), seed=2)
    (tmp_path / "5_cats" / "cat2.txt").write_text("cat, Long Hair, outdoors, sunny day", encoding="utf-8")
    write_png(tmp_path / "1_dogs" / "dog10.png", (512, 512), seed=3)
    (tmp_path / "1_dogs" / "dog10.txt").write_text("", encoding="utf-8")
    write_png(tmp_path / "1_dogs" / "dog9.png", (2048, 512), seed=4)
    os.utime(tmp_path / "1_dogs" / "dog9.png", ns=(4 * 10**18, 4 * 10**18))
    return scan_folders([tmp_path])


def names(ws, query):
    return sorted(ws.item(k).name for k in filter_keys(ws, ws.keys(), query))


@pytest.mark.parametrize("query, expected", [
    ("", ["cat1.jpg", "cat2.jpg", "dog10.png", "dog9.png"]),
    ("tag:cat", ["cat1.jpg", "cat2.jpg"]),
    ('tag:"long hair"', ["cat1.jpg", "cat2.jpg"]),  # "_" and case do not matter
    ("tag:long_hair -tag:indoors", ["cat2.jpg"]),
    ("tag:sun*", ["cat2.jpg"]),
    ("sunny", ["cat2.jpg"]),  # free text in captions
    ("dog", ["dog10.png", "dog9.png"]),  # ... and in file names
    ('"sunny day"', ["cat2.jpg"]),
    ("caption:none", ["dog9.png"]),
    ("caption:empty", ["dog10.png"]),
    ("subset:dogs", ["dog10.png", "dog9.png"]),
    ("width<512", ["cat2.jpg"]),
    ("height>=768 width>=1024", ["cat1.jpg"]),
    ("ratio>2", ["dog9.png"]),
    ("ratio<9:16", ["cat2.jpg"]),
    ("tags>3", ["cat1.jpg", "cat2.jpg"]),
    ("repeats>=5", ["cat1.jpg", "cat2.jpg"]),
    ("problem:any", ["cat2.jpg", "dog10.png", "dog9.png"]),  # cat2 is small (300 px)
    ("problem:no_caption", ["dog9.png"]),
    ("problem:small", ["cat2.jpg"]),
    ("problem:none", ["cat1.jpg"]),
    ("tag:indoors OR caption:none", ["cat1.jpg", "dog9.png"]),
    ("subset:cats AND (tag:indoors OR width<400)", ["cat1.jpg", "cat2.jpg"]),
    ("-(subset:cats)", ["dog10.png", "dog9.png"]),
    ("NOT tag:cat", ["dog10.png", "dog9.png"]),
    ("ext:png", ["dog10.png", "dog9.png"]),
    ("format:jpg", ["cat1.jpg", "cat2.jpg"]),
    ("name:dog1*", ["dog10.png"]),
])
def test_queries(ws, query, expected):
    assert names(ws, query) == expected


@pytest.mark.parametrize("query", ["colour:red", "width<abc", "(tag:cat", "tag:cat)", "tag:a OR", "tag:", "-",
                                   "problem:wobbly", "ratio>1:0"])
def test_bad_queries_are_clear_errors(query):
    with pytest.raises(UserInputError) as info:
        compile_query(query)
    assert info.value.hint


def test_tokenizer_keeps_quotes_and_parentheses():
    assert tokenize('tag:"a b" -(x OR y)') == ['tag:"a b"', "-", "(", "x", "OR", "y", ")"]


def test_sort_orders(ws):
    keys = ws.keys()
    def order(by, desc=False):
        return [ws.item(k).name for k in sort_keys(ws, keys, by, desc)]
    assert order("name") == ["cat1.jpg", "cat2.jpg", "dog9.png", "dog10.png"]  # natural order
    assert order("date", True)[0] == "dog9.png"
    assert order("pixels", True)[0] == "dog9.png"
    assert order("tags")[0] in ("dog10.png", "dog9.png")
    sizes = {ws.item(k).name: ws.item(k).file_size for k in keys}
    assert order("size") == sorted(sizes, key=sizes.get)
    with pytest.raises(UserInputError):
        sort_keys(ws, keys, "colour")
