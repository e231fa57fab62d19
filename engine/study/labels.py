"""Names in words for tables, summaries and figures: parameter symbols, code meanings,
model options and indicator outputs, from the words each model declares
(kernels.registry.Words). The report, `reesens show` and the figures share them; names no
model words are shown as they are. No matplotlib here: `show` imports it too.
"""
from __future__ import annotations

import re
import textwrap

import reesens.kernels  # noqa: F401  (registers the shipped models)
from reesens.kernels.registry import MODELS, Words, get_model


def _words(kind: str) -> dict:
    """One table of the registered models' words (kernels.registry.Words) of a kind:
    symbols, text, codes or options; the first model to name a key gives its words."""
    table = {}
    for model in reversed(list(MODELS.values())):
        table.update(getattr(model.words, kind))
    return table


def words_of(model_name: str):
    """The Words a model declares (an empty Words when it declares none or is unknown)."""
    try:
        return get_model(model_name).words
    except ValueError:
        return Words()


AGGREGATE = "all codes of {} at once (aggregated indices of its indicators)"


def is_aggregate(long_name: str) -> bool:
    """Whether an output's long_name is that of a code output's aggregate (AGGREGATE)."""
    head, tail = AGGREGATE.split("{}")
    return long_name.startswith(head) and long_name.endswith(tail)


def symbol(name: str) -> str:
    """A parameter or output name as its model's symbol (mathtext), else itself."""
    return _words("symbols").get(name, name.replace("_", " "))


def text_symbol(name: str) -> str:
    """The same symbol as plain text (Markdown and terminal)."""
    return _words("text").get(name, name)


def in_figure(text: str) -> str:
    """Text for a figure: each plain-text symbol with a subscript ('φ_D = 0.5') as its
    mathtext symbol ('$\\phi_D$ = 0.5'), as the axes write it."""
    text_of = _words("text")
    swaps = {t: m for name, m in _words("symbols").items()
             if "_" in (t := text_of.get(name, name)) and m.startswith("$")}
    if not swaps or "$" in text:
        return text
    pattern = "|".join(re.escape(t) for t in sorted(swaps, key=len, reverse=True))
    return re.sub(rf"(?<!\w)({pattern})(?!\w)", lambda m: swaps[m.group(1)], text)


def code_words(meaning: str) -> str:
    """A code's flag meaning in words ('pool_nd_hedge' -> 'pooling, no disclosure,
    foreigner hedges'), else the meaning with spaces for underscores."""
    return _words("codes").get(meaning, meaning.replace("_", " "))


def option_words(option: str, value) -> str:
    """('selection', 'china') -> "selected by China's payoff"; unknown ones 'option value'."""
    return _words("options").get((option, str(value)), f"{option} {value}")


def case_words(case: dict) -> str:
    """A case {dim: value} (scenario, swept options) in words, '; '-separated."""
    return "; ".join(str(v).replace("_", " ") if d == "scenario" else option_words(d, v)
                     for d, v in case.items())


def output_words(label: str) -> str:
    """'eq==pool_nd_hedge' -> 'eq = pooling, no disclosure, foreigner hedges'; other
    outputs unchanged."""
    if "==" not in label:
        return label
    output, code = label.split("==")
    return f"{output} = {code_words(code)}"


def parameter_label(name: str, long_name: str = "", units: str = "") -> str:
    """Axis label in symbol and words: 'κ: China's cost of being pressed (payoff)'."""
    label = symbol(name) + (f": {long_name}" if long_name else "")
    return label if units in ("", "1") else f"{label} ({units})"


def share(n: int, total: int, unit: str = "cells") -> str:
    """A share of a count in words: '41.0%', or '< 0.1% (1,140 cells)' when small but not
    zero, so that a region that exists never reads as 0.0%."""
    if total <= 0:
        return "n/a"
    if n and n / total < 0.001:
        return f"< 0.1% ({n:,} {unit})"
    return f"{n / total:.1%}"


def wrap(text: str, width: int) -> list[str]:
    """text in lines of at most `width` characters, long names broken after '=' or '_'."""
    if len(text) <= width:
        return [text]
    pieces = re.split(r"(?<=[=_])", text)
    lines = [""]
    for piece in pieces:
        if len(lines[-1]) + len(piece) > width and lines[-1]:
            lines.append("")
        lines[-1] += piece
    return [chunk for line in lines for chunk in textwrap.wrap(line, width)] or [""]
