"""Regions of a study: conditions on its outputs, as `[analysis] regions = { name =
"condition" }`, parsed by a small grammar and never evaluated as code.

    condition  := conjunct ("or" conjunct)*
    conjunct   := comparison ("and" comparison)*
    comparison := "(" condition ")" | output op value
    op         := "<" | "<=" | ">" | ">=" | "==" | "!="
    value      := a number, or for a code output one of its flag meanings

`and` binds tighter than `or`. A row is inside a region where the condition holds,
outside where it does not, and undefined (NaN) where an output it reads is NaN.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

import numpy as np

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
       "==": operator.eq, "!=": operator.ne}
_TOKEN = re.compile(r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                    r"|(?P<op><=|>=|==|!=|<|>)|(?P<paren>[()])"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))")


class ConditionError(ValueError):
    """A malformed condition: `message` says what, `position` where (0-based)."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at position {position}")
        self.position = position


@dataclass(frozen=True)
class Compare:
    output: str
    op: str
    value: float


@dataclass(frozen=True)
class Join:
    word: str  # "and" or "or"
    parts: tuple


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """[(kind, text, position)] of `text`, then ("end", "", len(text))."""
    out, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            start = at + len(text[at:]) - len(text[at:].lstrip())
            raise ConditionError(f"unexpected {text[start]!r}", start)
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind)))
        at = match.end()
    out.append(("end", "", len(text)))
    return out


def parse(text: str, outputs: dict) -> Compare | Join:
    """The condition `text` over `outputs` {name: registry.Variable} as a tree; a code
    output compares with one of its flag meanings or codes, a continuous output with a
    number. ConditionError names what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("must be a non-empty condition such as \"share > 0.6\"", 0)
    tokens = _tokens(text)
    at = [0]

    def peek():
        return tokens[at[0]]

    def take():
        at[0] += 1
        return tokens[at[0] - 1]

    def joined(word, part):
        """part (word part)*: one part, or their Join."""
        parts = [part()]
        while peek()[:2] == ("name", word):
            take()
            parts.append(part())
        return parts[0] if len(parts) == 1 else Join(word, tuple(parts))

    def condition():  # "and" binds tighter than "or"
        return joined("or", lambda: joined("and", comparison))

    def comparison():
        kind, word, where = take()
        if (kind, word) == ("paren", "("):
            inner = condition()
            kind, word, where = take()
            if (kind, word) != ("paren", ")"):
                raise ConditionError(f"expected ')', got {word or 'the end'!r}", where)
            return inner
        if kind != "name" or word in ("and", "or"):
            raise ConditionError(f"expected an output name, got {word or 'the end'!r}", where)
        if word not in outputs:
            raise ConditionError(f"{word!r} is not an output of the study (its outputs: "
                                 f"{', '.join(outputs)})", where)
        var = outputs[word]
        kind, op, op_at = take()
        if kind != "op":
            raise ConditionError(f"expected a comparison (<, <=, >, >=, ==, !=) after "
                                 f"{word}, got {op or 'the end'!r}", op_at)
        meanings = dict(zip(var.flag_meanings, var.flag_values)) if var.flag_values else {}
        if meanings and op not in ("==", "!="):
            raise ConditionError(f"{word} is a code output: compare it with == or != (its "
                                 "codes have no order)", op_at)
        kind, value, value_at = take()
        if kind == "number":
            number = float(value)
            if meanings and number not in var.flag_values:
                raise ConditionError(f"{word} has no code {value} (its codes: "
                                     f"{', '.join(map(str, var.flag_values))})", value_at)
            if not math.isfinite(number):
                raise ConditionError(f"{value!r} is not a finite number", value_at)
            return Compare(word, op, number)
        if kind == "name" and meanings:
            if value not in meanings:
                raise ConditionError(f"{word} has no code {value!r} (its codes: "
                                     f"{', '.join(var.flag_meanings)})", value_at)
            return Compare(word, op, float(meanings[value]))
        raise ConditionError(f"expected a number{' or a code of ' + word if meanings else ''}"
                             f" after {op}, got {value or 'the end'!r}", value_at)

    tree = condition()
    kind, word, where = peek()
    if kind != "end":
        raise ConditionError(f"expected 'and', 'or' or the end, got {word!r}", where)
    return tree


def names(tree) -> list[str]:
    """The outputs a condition reads, in order of first use."""
    if isinstance(tree, Compare):
        return [tree.output]
    return list(dict.fromkeys(n for part in tree.parts for n in names(part)))


def evaluate(tree, outputs: dict[str, np.ndarray]) -> np.ndarray:
    """float64 (rows,) 1 inside, 0 outside, NaN where an output it reads is NaN;
    outputs: {name: (rows,)}."""
    inside = _holds(tree, outputs).astype(np.float64)
    for name in names(tree):
        value = outputs[name]
        if value.dtype.kind == "f":
            inside[np.isnan(value)] = np.nan
    return inside


def _holds(tree, outputs) -> np.ndarray:
    if isinstance(tree, Compare):
        with np.errstate(invalid="ignore"):
            return OPS[tree.op](outputs[tree.output], tree.value)
    parts = [_holds(p, outputs) for p in tree.parts]
    join = np.logical_and if tree.word == "and" else np.logical_or
    out = parts[0]
    for part in parts[1:]:
        out = join(out, part)
    return out


@dataclass(frozen=True)
class Region:
    """A region of a study: `label` (a code's "eq==pool_nd_hedge", or the study's name for
    it), `condition` in words and its parsed `tree`."""

    label: str
    condition: str
    tree: Compare | Join


def study_regions(study) -> list[Region]:
    """Every code of every code output among the study's outputs, in output and code
    order, then the study's own regions ([analysis] regions) in its order."""
    variables = {v.name: v for v in study.model.outputs}
    out = [Region(f"{name}=={meaning}", f"{name} == {meaning}",
                  Compare(name, "==", float(code)))
           for name in study.outputs if variables[name].flag_values
           for code, meaning in zip(variables[name].flag_values, variables[name].flag_meanings)]
    usable = {n: variables[n] for n in study.outputs}
    return out + [Region(name, text, parse(text, usable))
                  for name, text in study.regions.items()]


def indicators(regions: list[Region], outputs: dict[str, np.ndarray]) -> np.ndarray:
    """float64 (regions, rows): evaluate() of each region on outputs {name: (rows,)}."""
    rows = len(next(iter(outputs.values())))
    out = np.empty((len(regions), rows))
    for r, region in enumerate(regions):
        out[r] = evaluate(region.tree, outputs)
    return out
