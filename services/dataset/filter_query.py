"""The dataset filter: a small query language over images and their captions, and the sort orders.

    tag:NAME  -tag:NAME  tag:"long hair"  tag:long*      a tag of the caption (case, "_" and " " ignored)
    caption:none  caption:empty  caption:TEXT          no caption file / blank / contains TEXT
    subset:NAME  name:PART  ext:png  format:jpeg         the folder, the file name, extension, format
    width<512  height>=1024  ratio>1.5  tags>30  repeats>=5  kb>500
    problem:any  problem:duplicate  problem:small ...    the badges
    TEXT  "two words"                                    free text, in the caption or the file name

Terms next to each other (or joined by AND) must all hold; OR between terms gives either;
``-`` or NOT negates a term; parentheses group. ``compile_query`` turns a query into a predicate
``(workspace, item) -> bool`` or raises UserInputError naming what it could not understand.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.dataset.workspace import (
    PROBLEM_NAMES,
    ImageItem,
    Problem,
    Workspace,
    name_key,
    natural_key,
    normalise_tag,
)
from services.errors import UserInputError

Predicate = Callable[[Workspace, ImageItem], bool]

_OPS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
        "=": operator.eq}
_NUMERIC = {
    "width": lambda ws, it: it.width,
    "height": lambda ws, it: it.height,
    "ratio": lambda ws, it: it.aspect,
    "pixels": lambda ws, it: it.width * it.height,
    "tags": lambda ws, it: len(ws.tags(it)),
    "repeats": lambda ws, it: ws.subsets[it.subset].repeats,
    "kb": lambda ws, it: it.file_size / 1024,
}
_PROBLEM_ALIASES = {"small": "too_small", "dup": "duplicate", "duplicates": "duplicate", "near": "near_duplicate",
                    "nocaption": "no_caption", "missing_caption": "no_caption", "encoding": "caption_undecodable",
                    "aspect": "odd_aspect", "truncated": "corrupt", "broken": "unreadable"}
_TOKEN = re.compile(r"""\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<word>(?:[^\s()"]|"[^"]*"?)+))""")
_COMPARE = re.compile(r"^(?P<field>[a-z]+)(?P<op><=|>=|!=|<|>|=)(?P<value>.+)$", re.I)


def _unquote(text: str) -> str:
    return text.replace('"', "")


@dataclass
class _Parser:
    tokens: list[str]
    pos: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek() is not None and self.peek().upper() == "OR":
            self.take()
            if self.peek() in (None, ")"):
                raise UserInputError("The filter ends with OR.", "Put a term after OR, e.g. tag:cat OR tag:dog.")
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda ws, it: any(p(ws, it) for p in parts))

    def parse_and(self) -> Predicate:
        parts = []
        while (tok := self.peek()) is not None and tok != ")" and tok.upper() != "OR":
            if tok.upper() == "AND":
                self.take()
                continue
            parts.append(self.parse_unary())
        if not parts:
            raise UserInputError("The filter has an empty part.", "Remove the extra OR or the empty parentheses.")
        return parts[0] if len(parts) == 1 else (lambda ws, it: all(p(ws, it) for p in parts))

    def parse_unary(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise UserInputError("The filter ends with NOT or '-'.", "Put a term after it, e.g. -tag:cat.")
        if tok is not None and tok.upper() == "NOT":
            self.take()
            inner = self.parse_unary()
            return lambda ws, it: not inner(ws, it)
        if tok == "(":
            self.take()
            inner = self.parse_or()
            if self.peek() != ")":
                raise UserInputError("A parenthesis in the filter is not closed.", "Add the missing ')'.")
            self.take()
            return inner
        if tok == "-":
            self.take()
            inner = self.parse_unary()
            return lambda ws, it: not inner(ws, it)
        return term(self.take())


def term(token: str) -> Predicate:
    """One term (``tag:cat``, ``width<512``, ``-problem:any``, ``word``) as a predicate."""
    if token.startswith("-") and len(token) > 1:
        inner = term(token[1:])
        return lambda ws, it: not inner(ws, it)
    compare = _COMPARE.match(token)
    if compare and compare.group("field").lower() in _NUMERIC:
        return _numeric(compare.group("field").lower(), compare.group("op"), compare.group("value"))
    key, sep, value = token.partition(":")
    if sep and not key.startswith('"'):
        return _keyed(key.lower(), _unquote(value))
    text = _unquote(token).lower()
    if not text:
        return lambda ws, it: True
    return lambda ws, it: text in it.caption.text.lower() or text in it.name.lower()


def _numeric(field: str, op: str, raw: str) -> Predicate:
    try:
        if ":" in raw:  # ratio>16:9
            a, b = raw.split(":", 1)
            number = float(a) / float(b)
        else:
            number = float(raw)
    except (ValueError, ZeroDivisionError):
        raise UserInputError(f"{field}{op}{raw}: {raw!r} is not a number.", f"Write e.g. {field}{op}512.") from None
    get, compare = _NUMERIC[field], _OPS[op]
    return lambda ws, it: compare(get(ws, it), number)


def _keyed(key: str, value: str) -> Predicate:
    if key == "tag":
        wanted = normalise_tag(value)
        if not wanted:
            raise UserInputError("tag: needs a tag name.", 'Write e.g. tag:cat or tag:"long hair".')
        if any(c in wanted for c in "*?["):
            return lambda ws, it: any(fnmatch.fnmatchcase(t, wanted) for t in ws.tag_set(it))
        return lambda ws, it: wanted in ws.tag_set(it)
    if key == "caption":
        low = value.lower()
        if low in ("none", "missing"):
            return lambda ws, it: not it.caption.exists
        if low == "empty":
            return lambda ws, it: it.caption.exists and not it.caption.undecodable and not it.caption.text.strip()
        if low in ("any", "some"):
            return lambda ws, it: bool(it.caption.text.strip())
        return lambda ws, it: low in it.caption.text.lower()
    if key == "subset":
        low = value.lower()
        if "/" in low or "\\" in low:  # a path: match the folder's path under the opened folder
            return lambda ws, it: low in ws.subsets[it.subset].name.lower().replace("\\", "/")
        return lambda ws, it: low in ws.subsets[it.subset].path.name.lower()
    if key == "name":
        low = value.lower()
        if any(c in low for c in "*?["):
            return lambda ws, it: fnmatch.fnmatchcase(it.name.lower(), low)
        return lambda ws, it: low in it.name.lower()
    if key == "ext":
        ext = "." + value.lower().lstrip(".")
        return lambda ws, it: it.name.lower().endswith(ext)
    if key == "format":
        fmt = value.upper().replace("JPG", "JPEG")
        return lambda ws, it: it.format == fmt
    if key == "reg":
        want = value.lower() in ("yes", "true", "1", "y")
        return lambda ws, it: ws.subsets[it.subset].is_reg == want
    if key == "problem":
        bits = int(problem_flag(value))  # plain ints: IntFlag arithmetic is slow over 10,000 items
        if bits == 0:
            return lambda ws, it: int(it.problems) == 0
        return lambda ws, it: bool(int(it.problems) & bits)
    known = "tag, caption, subset, name, ext, format, reg, problem, width, height, ratio, pixels, tags, repeats, kb"
    raise UserInputError(f"The filter does not know {key!r}.", f"Known fields: {known}.")


def problem_flag(name: str) -> Problem:
    low = name.lower().replace("-", "_").replace(" ", "_")
    low = _PROBLEM_ALIASES.get(low, low)
    if low in ("any", "all", "yes"):
        flag = Problem.NONE
        for p in PROBLEM_NAMES.values():
            flag |= p
        return flag
    if low == "none":
        return Problem.NONE
    if low not in PROBLEM_NAMES:
        raise UserInputError(f"There is no problem called {name!r}.",
                             "Known: any, " + ", ".join(PROBLEM_NAMES) + ".")
    return PROBLEM_NAMES[low]


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
        tokens.append(match.group("lp") or match.group("rp") or match.group("word"))
    return tokens


def compile_query(text: str) -> Predicate | None:
    """The predicate for ``text``; None for an empty query (everything matches)."""
    tokens = tokenize(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    predicate = parser.parse_or()
    if parser.peek() is not None:
        raise UserInputError("A parenthesis in the filter is closed but was never opened.", "Remove the extra ')'.")
    return predicate


def filter_keys(ws: Workspace, keys: Sequence[str], query: str) -> list[str]:
    predicate = compile_query(query)
    if predicate is None:
        return list(keys)
    return [k for k in keys if predicate(ws, ws.item(k))]


# --- sorting ----------------------------------------------------------------------------------
SORTS = {"name": "Name", "date": "Date modified", "size": "File size", "pixels": "Image size",
         "tags": "Tag count", "subset": "Folder"}


def sort_keys(ws: Workspace, keys: Sequence[str], by: str = "name", descending: bool = False) -> list[str]:
    if by not in SORTS:
        raise UserInputError(f"Unknown sort order {by!r}.", "Sort by " + ", ".join(SORTS) + ".")
    items = ws.item
    key_fns: dict[str, Callable[[str], object]] = {
        "name": lambda k: name_key(items(k)),
        "date": lambda k: items(k).mtime_ns,
        "size": lambda k: items(k).file_size,
        "pixels": lambda k: items(k).width * items(k).height,
        "tags": lambda k: len(ws.tags(k)),
        "subset": lambda k: natural_key(ws.subsets[items(k).subset].name),
    }
    # Ties keep the scan order (sorted() is stable), which is folder then natural file name.
    return sorted(keys, key=key_fns[by], reverse=descending)
