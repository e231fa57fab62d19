"""The [parameters], [[scenario]] and [grid] sections of a study: each parameter fixed,
distributed or swept within its model's domain."""
from __future__ import annotations

import math

import numpy as np

from reesens.kernels.registry import Variable
from reesens.study.schema import (
    _NOTE_KEYS,
    DIST_ALIASES,
    DISTRIBUTIONS,
    GRID_SPACINGS,
    MAX_AXIS_VALUES,
    NAME_MAX,
    Distribution,
)
from reesens.study.values import (
    check_notes,
    did_you_mean,
    got,
    is_float_text,
    is_name,
    is_number,
    short,
)


def check_parameters(table, where, model, problems, require_all, given=frozenset()):
    """(fixed, sampled) from a [parameters] table; problems appended, never raised.

    With require_all, a parameter neither in the table nor in `given` (swept by a grid)
    takes the model's default or is reported missing."""
    fixed, sampled = {}, {}
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table of parameters")
        return fixed, sampled
    variables = {v.name: v for v in model.params}
    for name, spec in table.items():
        field_ = f"{where}.{name}"
        if name not in variables:
            problems.append(f"{field_}: unknown parameter{did_you_mean(name, variables)}; "
                            f"model {model.name!r} has {', '.join(variables)}")
            continue
        var = variables[name]
        if not isinstance(spec, dict):
            problems.append(f"{field_}: must be a table with `value` or `dist`")
            continue
        check_notes(spec, field_, problems)
        if "value" in spec:
            extra = set(spec) - {"value", *_NOTE_KEYS}
            if extra:
                problems.append(f"{field_}: unknown keys {sorted(extra)} beside `value`; "
                                f"allowed: value, {', '.join(_NOTE_KEYS)}")
            value = spec["value"]
            if not is_number(value):
                problems.append(f"{field_}.value: must be a number, got {value!r}")
            elif not var.contains(value):
                problems.append(f"{field_}.value: {value!r} is outside the domain; "
                                f"allowed: {var.domain_text()}")
            else:
                fixed[name] = float(value)
            continue
        dist = _check_distribution(spec, field_, var, problems)
        if dist is not None:
            sampled[name] = dist
    if require_all:
        for var in model.params:
            if var.name in given:
                continue
            if var.name not in table and var.default is None:
                problems.append(f"{where}.{var.name}: missing; the parameter must be fixed "
                                f"(value = x) or sampled (dist = ...), {var.domain_text()}")
            elif var.name not in table:
                fixed[var.name] = float(var.default)
    return fixed, sampled


def _check_distribution(spec, field_, var: Variable, problems):
    """A Distribution whose support lies inside var's domain, or None (problem recorded)."""
    dist = spec.get("dist")
    if "dist" not in spec:  # a typo of `value` or `dist` names the key
        unknown = [k for k in spec if k not in (*_NOTE_KEYS, *{f for fs in
                                                                DISTRIBUTIONS.values()
                                                                for f in fs})]
        if unknown:
            problems.append(f"{field_}: unknown key {short(unknown[0])}"
                            f"{did_you_mean(unknown[0], ('value', 'dist'))}; a parameter "
                            "needs `value = x` or `dist = ...`")
            return None
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        alias = DIST_ALIASES.get(str(dist).lower()) if isinstance(dist, str) else None
        problems.append(f"{field_}: needs `value = x` or `dist` in "
                        f"{', '.join(DISTRIBUTIONS)}; got dist = {got(dist, takes_text=True)}"
                        + (f' (did you mean "{alias}"?)' if alias else ""))
        return None
    needed = DISTRIBUTIONS[dist]
    extra = set(spec) - {"dist", *needed, *_NOTE_KEYS}
    missing = [k for k in needed if k not in spec]
    if extra:
        problems.append(f"{field_}: unknown keys {sorted(extra)} for dist = {dist!r}; "
                        f"allowed: {', '.join(needed)}, {', '.join(_NOTE_KEYS)}")
    if missing:
        problems.append(f"{field_}: dist = {dist!r} needs {', '.join(needed)}; "
                        f"missing {', '.join(missing)}")
        return None
    values = [spec[k] for k in needed]
    bad = [f"{k} = {got(v)}" for k, v in zip(needed, values)
           if not (is_number(v) and math.isfinite(v))]
    if bad:
        problems.append(f"{field_}: {', '.join(bad)}: must be a finite number"
                        + (" (write it without quotes)" if any(
                            isinstance(v, str) and is_float_text(v) for v in values) else ""))
        return None
    v = dict(zip(needed, map(float, values)))
    if "lower" in v and not v["lower"] < v["upper"]:
        problems.append(f"{field_}: bounds inverted or empty, lower = {v['lower']:g} must be "
                        f"< upper = {v['upper']:g}")
        return None
    if "sd" in v and not v["sd"] > 0:
        problems.append(f"{field_}.sd: must be > 0, got {v['sd']:g}")
        return None
    if "ln_sd" in v and not v["ln_sd"] > 0:
        problems.append(f"{field_}.ln_sd: must be > 0, got {v['ln_sd']:g}")
        return None
    if dist == "triang":
        if not 0.0 <= v["peak"] < 1.0:
            problems.append(f"{field_}.peak: the peak's position as a fraction of "
                            f"upper - lower must be in [0, 1), got {v['peak']:g}")
            return None
        bounds = (v["lower"], v["upper"], v["peak"])
    else:
        bounds = tuple(v[k] for k in needed)
    distribution = Distribution(dist, bounds)
    low, high = distribution.support()
    low_ok = low > var.lower or (low == var.lower and var.lower_closed)
    # An infinite upper end is approached, never returned (Sobol' points are < 1).
    high_ok = high < var.upper or (high == var.upper and (var.upper_closed
                                                          or math.isinf(high)))
    if not (low_ok and high_ok):
        hint = ""
        if var.lower == 0 and math.isinf(var.upper) and dist == "norm":
            hint = "; use truncnorm (lower > 0) or lognorm for a positive parameter"
        elif dist in ("norm", "lognorm") and math.isfinite(var.upper):
            hint = "; use truncnorm or unif/triang within the bounds"
        problems.append(f"{field_}: dist = {dist!r} can produce values in "
                        f"[{low:g}, {high:g}], outside the domain; allowed: "
                        f"{var.domain_text()}{hint}")
        return None
    return distribution


def check_scenarios(blocks, model, fixed, sampled, problems):
    """{name: (fixed, sampled)}: each scenario overrides some base parameters."""
    if not isinstance(blocks, list):
        problems.append("scenario: must be [[scenario]] tables")
        return {}
    scenarios = {}
    for i, block in enumerate(blocks):
        where = f"scenario[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: must be a table")
            continue
        extra = set(block) - {"name", "parameters", "description", *_NOTE_KEYS}
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}; allowed: name, "
                            "description, parameters, note, source")
        check_notes(block, where, problems)
        name = block.get("name")
        if not is_name(name) or name in scenarios:
            problems.append(f"{where}.name: needs a distinct name of letters, digits, "
                            f"'_', '-', '.', at most {NAME_MAX} characters; got "
                            f"{short(name)}")
            continue
        own_fixed, own_sampled = check_parameters(
            block.get("parameters", {}), f"{where}.parameters", model, problems,
            require_all=False)
        merged_fixed = {k: v for k, v in fixed.items() if k not in own_sampled}
        merged_fixed.update(own_fixed)
        merged_sampled = {k: v for k, v in sampled.items() if k not in own_fixed}
        merged_sampled.update(own_sampled)
        if set(merged_sampled) != set(sampled):
            problems.append(f"{where}.parameters: a scenario may change how a parameter is "
                            "fixed or distributed but not which ones are sampled "
                            f"(sampled in the study: {', '.join(sampled)})")
        scenarios[name] = (merged_fixed, merged_sampled)
    return scenarios


def check_grid(table, model, problems):
    """({parameter: increasing values} in model order, outputs) from [grid]; ({}, ()) if
    there is none. An axis is `linspace = [start, stop, num]`, `logspace = [start, stop,
    num]` (geometric, start and stop > 0) or `values = [...]`."""
    if table is None:
        return {}, ()
    if not isinstance(table, dict) or not table:
        problems.append("grid: must be a table of swept parameters")
        return {}, ()
    variables = {v.name: v for v in model.params}
    outputs = ()
    if "outputs" in table:
        names, known = table["outputs"], [v.name for v in model.outputs]
        if not (isinstance(names, list) and names and all(n in known for n in names)):
            problems.append(f"grid.outputs: must be a non-empty list of outputs of "
                            f"{model.name!r}: {', '.join(known)}; got {names!r}")
        else:
            outputs = tuple(dict.fromkeys(names))
    axes = {}
    for name, spec in table.items():
        where = f"grid.{name}"
        if name == "outputs":
            continue
        if name not in variables:
            problems.append(f"{where}: unknown parameter; model {model.name!r} has "
                            f"{', '.join(variables)} (and grid.outputs)")
            continue
        keys = [k for k in GRID_SPACINGS if isinstance(spec, dict) and k in spec]
        if len(keys) != 1 or set(spec) - {keys[0], *_NOTE_KEYS}:
            problems.append(f"{where}: give exactly one of linspace = [start, stop, num], "
                            "logspace = [start, stop, num], values = [...]")
            continue
        values = _axis_values(keys[0], spec[keys[0]], f"{where}.{keys[0]}", problems)
        if values is None:
            continue
        outside = [x for x in values if not variables[name].contains(x)]
        if outside:
            problems.append(f"{where}: {outside[0]!r} is outside the domain; allowed: "
                            f"{variables[name].domain_text()}")
            continue
        axes[name] = values
    return {n: axes[n] for n in model.param_names if n in axes}, outputs


def _axis_values(kind, spec, where, problems):
    """The axis' float values (strictly increasing), or None with a problem recorded."""
    if kind == "values":
        ok = isinstance(spec, list) and spec and all(is_number(x) and math.isfinite(x)
                                                     for x in spec)
        values = tuple(float(x) for x in spec) if ok else ()
        if ok and len(values) > MAX_AXIS_VALUES:
            problems.append(f"{where}: {len(values):,} values are more than the "
                            f"{MAX_AXIS_VALUES:,} one axis may have")
            return None
        if not ok or any(b <= a for a, b in zip(values, values[1:])):
            problems.append(f"{where}: must be a non-empty list of finite numbers in "
                            f"increasing order; got {spec!r}")
            return None
        return values
    ok = (isinstance(spec, list) and len(spec) == 3 and all(is_number(x) for x in spec[:2])
          and isinstance(spec[2], int) and not isinstance(spec[2], bool) and spec[2] >= 1
          and all(math.isfinite(x) for x in spec[:2]))
    if not ok or (spec[2] > 1 and not spec[0] < spec[1]):
        problems.append(f"{where}: must be [start, stop, num] with start < stop finite and "
                        f"num an integer >= 1; got {spec!r}")
        return None
    if spec[2] > MAX_AXIS_VALUES:
        problems.append(f"{where}: num = {spec[2]:,} is more than the {MAX_AXIS_VALUES:,} "
                        "values one axis may have; a coarser grid (a smaller num) fits")
        return None
    if kind == "logspace" and not spec[0] > 0:
        problems.append(f"{where}: start must be > 0 for geometric spacing; got {spec[0]!r}")
        return None
    space = np.linspace if kind == "linspace" else np.geomspace
    return tuple(float(x) for x in space(float(spec[0]), float(spec[1]), spec[2]))
