"""Checks of single values a study gives, and how a problem quotes them."""
from __future__ import annotations

import json
import math

from reesens.study.schema import _NOTE_KEYS, NAME_MAX, NAME_PATTERN


def is_number(x) -> bool:
    """An int or float (not a bool) that a float can hold."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        float(x)
    except OverflowError:
        return False
    return True


def is_name(x) -> bool:
    """Letters, digits, '_', '-', '.' (not first), at most NAME_MAX characters."""
    return isinstance(x, str) and len(x) <= NAME_MAX and NAME_PATTERN.fullmatch(x) is not None


def check_notes(table, where, problems):
    """Free-text keys must be strings (they are stored as text in the results)."""
    for key in _NOTE_KEYS + ("description",):
        if key in table and not isinstance(table[key], str):
            problems.append(f"{where}.{key}: must be a string")


def got(value, takes_text: bool = False) -> str:
    """A value as a problem quotes it (TOML's spelling), naming its kind when it is not
    the field's: '"0.1" (a string)', '5000', 'true (a boolean)'."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        text = text if len(text) <= 60 else text[:56] + '..."'
        return text if takes_text else f"{text} (a string)"
    if isinstance(value, (dict, list)):
        return f"{short(value)} (a {'table' if isinstance(value, dict) else 'list'})"
    return short(value)


def is_float_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def nearest_powers(x) -> str:
    """' (nearest: 4096 or 8192)' for a positive integer that is not a power of two."""
    if isinstance(x, int) and not isinstance(x, bool) and x > 1:
        low = 1 << (x.bit_length() - 1)
        return f" (nearest: {low} or {2 * low})"
    return ""


def power_of_two(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1 and x & (x - 1) == 0


def settings(table, where, defaults, problems):
    """defaults updated from table; unknown keys recorded."""
    out = dict(defaults)
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return out
    for key, value in table.items():
        if key not in defaults:
            problems.append(f"{where}.{key}: unknown key; allowed: {', '.join(defaults)}")
        else:
            out[key] = value
    return out


def int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def short(value) -> str:
    """repr of a value, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(name, known) -> str:
    """' (did you mean "kappa"?)' when `name` is close to one of `known`, else ""."""
    from difflib import get_close_matches
    if not isinstance(name, str):
        return ""
    close = get_close_matches(name, [str(k) for k in known], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
