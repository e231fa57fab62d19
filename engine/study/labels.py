"""Names in words for tables, summaries and figures: parameter symbols, equilibrium codes,
regions of the rules, model options and indicator outputs. The one table of meanings the
report, `reesens show` and the figures share; names it does not know are shown as they
are. No matplotlib here: `show` imports it too.
"""
from __future__ import annotations

import re
import textwrap

# parameter and output names as the paper's symbols (matplotlib mathtext)
SYMBOLS = {"A": "$A$", "gamma": r"$\gamma$", "delta": r"$\delta$", "phi_D": r"$\phi_D$",
           "kappa": r"$\kappa$", "p": "$p$", "mu_star": r"$\mu^*$", "rho_C": r"$\rho_C$",
           "rho_F": r"$\rho_F$", "S": "$S$"}
# the same in plain text (Markdown, terminal)
TEXT_SYMBOLS = {"gamma": "γ", "delta": "δ", "phi_D": "φ_D", "kappa": "κ", "mu_star": "μ*",
                "rho_C": "ρ_C", "rho_F": "ρ_F"}

# equilibrium codes (docs/model.md section 3) in words
CODE_WORDS = {"invalid": "invalid vector", "none": "no equilibrium",
              "pool_nd_hedge": "pooling, no disclosure, foreigner hedges",
              "pool_nd_press": "pooling, no disclosure, foreigner presses",
              "separating": "separating", "hybrid": "hybrid",
              "pool_d_hedge": "pooling, disclosure, foreigner hedges",
              "boundary": "boundary (Theorem 4's tie case)",
              "same": "same set", "differ": "sets differ", "agree": "sets agree",
              "A_ge_delta": "A ≥ δ (pressing never pays off)"}
_REGION = re.compile(r"^p_(lt|eq|gt)_mustar_kappa_(lt|eq|gt)_phiD$")
_COMPARE = {"lt": "<", "eq": "=", "gt": ">"}

# model options (docs/model.md): the concept computed, the rule that selects
OPTION_WORDS = {
    ("concept", "verifiable"): "verifiable disclosure",
    ("concept", "paper"): "Woods (2025)'s Theorem 4",
    ("concept", "mimicable"): "mimicable disclosure",
    ("selection", "china"): "selected by China's payoff",
    ("selection", "foreign"): "selected by the foreigner's payoff",
    ("selection", "hedge"): "selected for the most hedging",
    ("selection", "transparent"): "selected for the most disclosure",
}


AGGREGATE = "all codes of {} at once (aggregated indices of its indicators)"


def is_aggregate(long_name: str) -> bool:
    """Whether an output's long_name is that of a code output's aggregate (AGGREGATE)."""
    head, tail = AGGREGATE.split("{}")
    return long_name.startswith(head) and long_name.endswith(tail)


def symbol(name: str) -> str:
    """A parameter or output name as the symbol the paper uses (mathtext), else itself."""
    return SYMBOLS.get(name, name.replace("_", " "))


def text_symbol(name: str) -> str:
    """The same symbol as plain text (Markdown and terminal)."""
    return TEXT_SYMBOLS.get(name, name)


def code_words(meaning: str) -> str:
    """A code's flag meaning in words: 'p_lt_mustar_kappa_gt_phiD' -> 'p < μ*, κ > φ_D'."""
    match = _REGION.match(meaning)
    if match:
        a, b = match.groups()
        return f"p {_COMPARE[a]} μ*, κ {_COMPARE[b]} φ_D"
    return CODE_WORDS.get(meaning, meaning.replace("_", " "))


def option_words(option: str, value) -> str:
    """'selection', 'china' -> "selected by China's payoff"; unknown ones 'option value'."""
    return OPTION_WORDS.get((option, str(value)), f"{option} {value}")


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
