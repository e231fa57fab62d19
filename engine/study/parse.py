"""Study files: load a TOML study, check all of it before any work, return a Study
(study.schema).

Every problem found is reported in one StudyError, each line naming the file, the field
and what is allowed. TOML is data only (tomllib), so no study file can run code.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import reesens.kernels
from reesens.kernels.registry import get_model, model_names
from reesens.study import conditions, registry
from reesens.study.parameters import check_grid, check_parameters, check_scenarios
from reesens.study.schema import (
    ANALYSIS_DEFAULTS,
    DEFAULT_SLICES,
    DESIGNS,
    ESTIMATORS,
    INTERVALS,
    MAX_CUTS,
    MAX_SCRAMBLINGS,
    MAX_TRAJECTORIES,
    NAME_MAX,
    NULL_ROWS_PER_SLICE,
    SAMPLING_DEFAULTS,
    TOP_KEYS,
    Study,
    StudyError,
)
from reesens.study.values import (
    got,
    int_in,
    is_name,
    is_number,
    nearest_powers,
    power_of_two,
    settings,
    short,
)


def default_block_points(N: int, design_N: int | None = None, rows_kept: bool = False) -> int:
    """Base points per block when the study does not say: N/16 within [2^14, 2^20] (2^16
    where every row is kept in memory: SALib's estimator), at most each design's N
    (design_N: N split among the scramblings; default N).

    A block costs ~15 ms of zarr writes, funnelled through the one event-loop thread of
    its process, against ~0.35 us of work per base point on the fused path (second order,
    2-core VM): at N = 2^26 blocks of 2^20 points took the whole run from 2.3x to 1.9x the
    model alone (blocks of 2^18). N/16 leaves tasks for several workers at moderate N; the
    floor keeps small blocks' writes from dominating; the cap bounds the work a crash
    loses (about a second) and a block's rows where they are kept.
    """
    cap = 2**16 if rows_kept else 2**20
    return min(N if design_N is None else design_N, max(2**14, min(cap, N // 16)))


def load(path, *, N=None, second_order=None, estimator=None, intervals=None,
         methods=None) -> Study:
    """Read and check a study file; StudyError lists every problem found.

    `N`, `second_order`, `estimator`, `intervals` and `methods` override the file's
    values (command-line options).
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
        return parse(raw, path, N=N, second_order=second_order, estimator=estimator,
                     intervals=intervals, methods=methods)
    except OSError as e:
        raise StudyError(path, [f"cannot read the file: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        raise StudyError(path, [f"not UTF-8 text (byte {e.object[e.start]:#04x} at offset "
                                f"{e.start}); save the study as UTF-8"]) from None
    except tomllib.TOMLDecodeError as e:
        raise StudyError(path, [f"not valid TOML: {e}"]) from None
    except RecursionError:
        raise StudyError(path, ["nested too deeply to be a study"]) from None


def parse(raw: dict, path="<study>", *, N=None, second_order=None, estimator=None,
          intervals=None, methods=None) -> Study:
    """Check a study already read from TOML (see :func:`load`): every section in turn,
    the problems of all of them in one StudyError."""
    problems = []
    model, options, swept = _check_model(raw.get("model", {}), path, problems)
    stray = [k for k in raw if k not in TOP_KEYS and k in model.param_names]
    if stray and "parameters" not in raw:  # one hint, not a problem per parameter
        raise StudyError(path, [f"{', '.join(stray)}: parameters outside a section; put them "
                                "under a [parameters] header"])
    name, texts = _check_header(raw, path, problems)
    grid, grid_outputs = check_grid(raw.get("grid"), model, problems)
    fixed, sampled = check_parameters(raw.get("parameters", {}), "parameters", model,
                                       problems, require_all=True,
                                       given=set(raw["grid"]) if isinstance(raw.get("grid"),
                                                                            dict) else set())
    if grid:
        for name_ in sampled:
            if name_ not in grid:
                problems.append(f"parameters.{name_}: sampled but not swept in [grid]; a grid "
                                "run needs every parameter fixed (value = x) or swept")
    elif not sampled and not problems:
        problems.append("parameters: at least one parameter must be sampled (dist = ...) "
                        "or swept in [grid]")
    scenarios = check_scenarios(raw.get("scenario", []), model, fixed, sampled, problems)
    outputs = _check_outputs(raw.get("outputs", {}), model, problems)
    sampling = _check_sampling(raw.get("sampling", {}), N, second_order, problems)
    analysis = _check_analysis(raw.get("analysis", {}), sampling, problems,
                               estimator=estimator, intervals=intervals, methods=methods)
    methods = _check_methods(analysis, sampling, problems)
    groups = _check_groups(analysis["groups"], sampled, fixed, model, problems)
    regions = _check_regions(analysis["regions"], model, outputs, problems)
    prim_settings = _check_where(analysis, problems)
    given = raw.get("sampling", {})  # what the file or the command line sets
    given = {**(given if isinstance(given, dict) else {}),
             **({"N": N} if N is not None else {}),
             **({"second_order": second_order} if second_order is not None else {})}
    _check_morris(sampling, analysis, given, methods, groups, problems)
    if model.check_box is not None and not problems:
        cases = {f"scenario {name_!r}": case for name_, case in scenarios.items()} or {
            "parameters": (fixed, sampled)}  # with scenarios, only they run
        for where, (f, s) in cases.items():
            ranges = {**{n: (v, v) for n, v in f.items()},
                      **{n: d.support() for n, d in s.items()},
                      **{n: (min(v), max(v)) for n, v in grid.items()}}
            problems += [f"{where}: {p}" for p in model.check_box(ranges)]
    if problems:
        raise StudyError(path, problems)
    return Study(
        path=str(path), name=name, title=texts["title"], description=texts["description"],
        model=model, fixed=fixed, sampled=sampled, options=options, swept=swept,
        outputs=outputs, N=sampling["N"], second_order=sampling["second_order"],
        seed=sampling["seed"], scramble=sampling["scramble"],
        block_points=_block_points(sampling, analysis, given),
        resamples=analysis["resamples"], conf_level=float(analysis["conf_level"]),
        analysis_seed=analysis["seed"], estimator=analysis["estimator"],
        intervals=analysis["intervals"],
        scramblings=analysis["scramblings"] if analysis["intervals"] == "replicates" else 1,
        methods=methods, slices=analysis["slices"], bins=analysis["bins"], groups=groups,
        regions=regions, where=prim_settings,
        design=sampling["design"], trajectories=sampling["trajectories"],
        levels=sampling["levels"], optimal_trajectories=sampling["optimal_trajectories"] or 0,
        scenarios=scenarios, grid=grid,
        grid_outputs=grid_outputs or tuple(v.name for v in model.outputs
                                           if v.name in outputs or v.flag_masks),
        raw=raw)


def _check_header(raw: dict, path, problems) -> tuple[str, dict]:
    """(name, {title, description}): the top-level keys, the study's name and texts."""
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown section or key; allowed: {', '.join(TOP_KEYS)}")
    name = raw.get("name", Path(str(path)).stem)
    if not is_name(name):
        problems.append(f"name: {short(name)} must be letters, digits, '_', '-' or '.' "
                        f"(not first), at most {NAME_MAX} characters")
    texts = {}
    for key in ("title", "description"):
        texts[key] = raw.get(key, "")
        if not isinstance(texts[key], str):
            problems.append(f"{key}: must be a string")
    return name, texts


def _check_model(model_table, path, problems):
    """(model, options, swept options) from [model]; StudyError at once when the model is
    unknown or cannot be loaded (nothing else can be checked without it)."""
    if not isinstance(model_table, dict):
        problems.append("model: must be a table")
        model_table = {}
    model_name = model_table.get("name", reesens.kernels.DEFAULT_MODEL)
    if not isinstance(model_name, str) or model_name not in model_names():
        problems.append(f"model.name: unknown model {short(model_name)}; known models: "
                        f"{', '.join(model_names())} (a model of your own is a package "
                        "that registers one: docs/models.md)")
        raise StudyError(path, problems)
    try:
        model = get_model(model_name)
    except (ImportError, ValueError) as e:  # an installed model that fails to load
        problems.append(f"model.name: {model_name!r} cannot be loaded: {e}")
        raise StudyError(path, problems) from None
    options, swept = _check_options(model, model_table, problems)
    return model, options, swept


def _block_points(sampling: dict, analysis: dict, given: dict) -> int:
    """The study's block_points: its own or the default for each design's N (N split
    among the scramblings), at most that N."""
    R = analysis["scramblings"] if analysis["intervals"] == "replicates" else 1
    design_N = max(1, sampling["N"] // R)
    bp = sampling["block_points"] if "block_points" in given else \
        default_block_points(sampling["N"], design_N, analysis["estimator"] == "salib")
    return min(bp, design_N)


def _check_sampling(table, N, second_order, problems) -> dict:
    """[sampling] with its defaults and the command line's N and --second-order."""
    sampling = settings(table, "sampling", SAMPLING_DEFAULTS, problems)
    if N is not None:
        sampling["N"] = N
    if second_order is not None:
        sampling["second_order"] = second_order
    if sampling["block_points"] is None and power_of_two(sampling["N"]):
        sampling["block_points"] = default_block_points(sampling["N"])
    for key in ("N", "block_points"):
        if sampling[key] is None:  # block_points unset: it follows N, already reported
            continue
        where = "--n" if key == "N" and N is not None else f"sampling.{key}"
        if not power_of_two(sampling[key]):
            problems.append(f"{where}: must be a power of two >= 1, got "
                            f"{got(sampling[key])}{nearest_powers(sampling[key])}")
    for key in ("second_order", "scramble"):
        if not isinstance(sampling[key], bool):
            problems.append(f"sampling.{key}: must be true or false")
    return sampling


def _check_analysis(table, sampling: dict, problems, *, estimator, intervals,
                    methods) -> dict:
    """[analysis] with its defaults and the command line's options: estimator,
    intervals, seeds, resamples, scramblings and conf_level (methods: _check_methods)."""
    analysis = settings(table, "analysis", ANALYSIS_DEFAULTS, problems)
    seeds = [("sampling.seed", sampling["seed"])]
    if analysis["seed"] is None:  # unset: the sampling seed, checked once
        analysis["seed"] = sampling["seed"]
    else:
        seeds.append(("analysis.seed", analysis["seed"]))
    if estimator is not None:
        analysis["estimator"] = estimator
    if analysis["estimator"] not in ESTIMATORS:
        problems.append(f"analysis.estimator: must be one of {', '.join(ESTIMATORS)}, got "
                        f"{analysis['estimator']!r}")
    if intervals is not None:
        analysis["intervals"] = intervals
    if methods is not None:
        analysis["methods"] = list(methods)
    if analysis["intervals"] not in INTERVALS:
        problems.append(f"analysis.intervals: must be one of {', '.join(INTERVALS)}, got "
                        f"{analysis['intervals']!r}")
    elif analysis["intervals"] == "auto":
        analysis["intervals"] = _auto_intervals(analysis, sampling)
    for where, value in seeds:
        # SALib treats seed 0 as "no seed": results would not be reproducible.
        if not (isinstance(value, int) and not isinstance(value, bool)
                and 1 <= value < 2**63):
            problems.append(f"{where}: must be an integer in [1, 2^63), got {got(value)}")
    resamples = analysis["resamples"]
    if not (isinstance(resamples, int) and not isinstance(resamples, bool) and resamples >= 1):
        problems.append(f"analysis.resamples: must be an integer >= 1, got {resamples!r}")
    elif analysis["intervals"] == "bootstrap" and resamples < 2:
        problems.append(f"analysis.resamples: bootstrap intervals need >= 2 replicates, got "
                        f"{resamples}")
    if analysis["intervals"] == "replicates":
        scramblings, N = analysis["scramblings"], sampling["N"]
        if not (isinstance(scramblings, int) and not isinstance(scramblings, bool)
                and 2 <= scramblings <= MAX_SCRAMBLINGS and power_of_two(scramblings)):
            problems.append(f"analysis.scramblings: must be a power of two in [2, "
                            f"{MAX_SCRAMBLINGS}], got {got(scramblings)}")
        elif power_of_two(N) and N < scramblings:
            problems.append(f"analysis.scramblings: N = {N} base points cannot be split among "
                            f"{scramblings} scramblings; N must be >= scramblings")
        if sampling["scramble"] is False:
            problems.append('analysis.intervals: "replicates" are independent scramblings '
                            "of the design; set sampling.scramble = true")
        if analysis["estimator"] == "salib":
            problems.append('analysis.intervals: "replicates" need the streaming '
                            "estimator (SALib's estimator has its own bootstrap intervals)")
    conf = analysis["conf_level"]
    if not (is_number(conf) and 0 < conf < 1):
        problems.append(f"analysis.conf_level: must be in (0, 1), got {conf!r}")
    return analysis


def _auto_intervals(analysis: dict, sampling: dict) -> str:
    """The intervals a study gets when it does not choose: Student t over independent
    scramblings where the design is scrambled and N splits into them (honest on a Sobol'
    design and not wider than its error, see docs/performance.md), SALib's bootstrap
    with its estimator, and otherwise the delta method."""
    if analysis["estimator"] == "salib" or sampling["design"] == "morris":
        return "bootstrap"
    R, N = analysis["scramblings"], sampling["N"]
    if sampling["scramble"] is True and int_in(R, 2, MAX_SCRAMBLINGS) and power_of_two(R) \
            and power_of_two(N) and N >= R and not _loses_null_levels(analysis, N // R):
        return "replicates"
    return "delta"


def _loses_null_levels(analysis: dict, design_N: int) -> bool:
    """Whether a chosen method reads null levels (PAWN, delta) that designs of `design_N`
    base points would not state: fewer than NULL_ROWS_PER_SLICE A and B rows per slice."""
    methods = analysis["methods"] if isinstance(analysis["methods"], list) else []
    slices = analysis["slices"] if int_in(analysis["slices"], 2, MAX_CUTS) else DEFAULT_SLICES
    reads = any("null_levels" in m.reads for m in registry.methods() if m.name in methods)
    return reads and 2 * design_N < NULL_ROWS_PER_SLICE * slices


def _check_morris(sampling: dict, analysis: dict, given: dict, methods, groups,
                  problems) -> None:
    """sampling.design and, for a Morris design, its keys and what it cannot combine with;
    `given`: the sampling keys the file or the command line sets."""
    design = sampling["design"]
    if design not in DESIGNS:
        problems.append(f"sampling.design: must be one of {', '.join(DESIGNS)}, got "
                        f"{got(design, takes_text=True)}")
        return
    morris_keys = ("trajectories", "levels", "optimal_trajectories")
    if design != "morris":
        for key in morris_keys:
            if key in given:
                problems.append(f"sampling.{key}: applies to design = \"morris\" only")
        return
    T, levels = sampling["trajectories"], sampling["levels"]
    if not int_in(T, 2, MAX_TRAJECTORIES):
        problems.append(f"sampling.trajectories: must be an integer in [2, "
                        f"{MAX_TRAJECTORIES}], got {got(T)}")
    if not (int_in(levels, 2, 64) and levels % 2 == 0):
        problems.append(f"sampling.levels: must be an even integer in [2, 64], got "
                        f"{got(levels)}")
    best = sampling["optimal_trajectories"]
    if best is not None and not (int_in(T, 2, MAX_TRAJECTORIES) and int_in(best, 2, T - 1)):
        problems.append(f"sampling.optimal_trajectories: must be an integer in [2, "
                        f"trajectories - 1], got {got(best)}")
    for key, why in (("N", "a Morris design draws `trajectories`, not N base points"),
                     ("block_points", "a Morris design blocks its trajectories itself"),
                     ("second_order", "Morris screening has no second-order measure")):
        if key in given and not (key == "second_order" and given[key] is False):
            problems.append(f"sampling.{key}: {why}")
    other = [m.title for m in registry.methods() if m.name in methods and m.design != design
             and not m.required]
    if other:
        problems.append(f"analysis.methods: {', '.join(other)} read the Saltelli design's "
                        "A and B rows; a Morris design has none")
    if groups:
        problems.append("analysis.groups: grouped indices apply to the Saltelli design")
    if analysis["intervals"] == "replicates":
        problems.append('analysis.intervals: "replicates" are scramblings of the Saltelli '
                        "design; Morris intervals resample trajectories (analysis.resamples)")


def _check_groups(table, sampled, fixed, model, problems) -> dict[str, tuple[str, ...]]:
    """analysis.groups: {group: [sampled parameters]}, each parameter in one group at
    most (the others form a group of their own), group names that are no other
    parameter's. A model parameter neither sampled nor fixed had its own entry refused:
    that problem is already listed."""
    if table is None:
        return {}
    where = "analysis.groups"
    if not isinstance(table, dict) or not table:
        problems.append(f"{where}: must be a table of group = [parameter, ...], got "
                        f"{got(table)}")
        return {}
    seen, out = {}, {}
    for name, members in table.items():
        if not is_name(name):
            problems.append(f"{where}: group name {short(name)} must be letters, digits, "
                            "'_', '-' or '.'")
            continue
        if not (isinstance(members, list) and members
                and all(isinstance(m, str) for m in members)):
            problems.append(f"{where}.{name}: must be a non-empty list of sampled "
                            f"parameters, got {got(members)}")
            continue
        for m in members:
            if m not in sampled and (m in fixed or m not in model.param_names):
                known = "a fixed parameter" if m in fixed else "not a parameter"
                problems.append(f"{where}.{name}: {short(m)} is {known} of the study; a "
                                f"group holds sampled parameters ({', '.join(sampled)})")
            elif m in seen:
                problems.append(f"{where}.{name}: {m} is already in group {seen[m]}; a "
                                "parameter belongs to one group")
            else:
                seen[m] = name
        if name in model.param_names and members != [name]:
            problems.append(f"{where}.{name}: a group named after the parameter {name} "
                            "must hold that parameter alone")
        out[name] = tuple(members)
    return out


def _check_regions(table, model, outputs, problems) -> dict[str, str]:
    """analysis.regions: {name: condition} (study.conditions) on the study's outputs, named
    unlike any output, code or parameter."""
    if table is None:
        return {}
    where = "analysis.regions"
    if not isinstance(table, dict) or not table:
        problems.append(f"{where}: must be a table of name = \"condition\", got {got(table)}")
        return {}
    variables = {v.name: v for v in model.outputs}
    usable = {n: variables[n] for n in outputs}
    taken = set(model.param_names) | set(model.output_names) | {
        f"{v.name}=={m}" for v in model.outputs for m in v.flag_meanings}
    out = {}
    for name, text in table.items():
        if not is_name(name) or name in taken:
            problems.append(f"{where}: region name {short(name)} must be letters, digits, "
                            "'_', '-' or '.', and not an output's, a code's or a parameter's")
            continue
        if not isinstance(text, str):
            problems.append(f"{where}.{name}: must be a condition in quotes, such as "
                            f"\"china_share > 0.6\", got {got(text)}")
            continue
        try:
            conditions.parse(text, usable)
        except conditions.ConditionError as e:
            hint = ""
            word = text[e.position:].split()[0] if text[e.position:].split() else ""
            if word in variables and word not in usable:
                hint = f"; add {word} to [outputs] names to use it"
            problems.append(f"{where}.{name}: {e} of {text!r}{hint}")
            continue
        out[name] = text
    return out


def _check_where(analysis: dict, problems) -> dict:
    """The PRIM and rules settings of [analysis]: prim_threshold, peel_alpha and
    paste_alpha in (0, 1), mass_min in (0, 1), reservoir_points a power of two from 2^8 to
    2^20, tree_depth from 1 to 8."""
    out = {}
    for key in ("prim_threshold", "peel_alpha", "paste_alpha", "mass_min"):
        value = analysis[key]
        if not (is_number(value) and 0 < value < 1):
            problems.append(f"analysis.{key}: must be a number in (0, 1), got {got(value)}")
        else:
            out[key] = float(value)
    points = analysis["reservoir_points"]
    if not (power_of_two(points) and 2**8 <= points <= 2**20):
        problems.append("analysis.reservoir_points: must be a power of two from 256 to "
                        f"1048576, got {got(points)}")
    else:
        out["reservoir_points"] = points
    if not int_in(analysis["tree_depth"], 1, 8):
        problems.append(f"analysis.tree_depth: must be an integer from 1 to 8, got "
                        f"{got(analysis['tree_depth'])}")
    else:
        out["tree_depth"] = analysis["tree_depth"]
    return out


def _check_methods(analysis: dict, sampling: dict, problems) -> tuple[str, ...]:
    """analysis.methods as a tuple in the registry's order, each method's own checks
    (study.registry), analysis.slices and .bins."""
    methods, known = analysis["methods"], [m.name for m in registry.methods()]
    if not (isinstance(methods, list) and methods and all(isinstance(m, str) for m in methods)):
        problems.append(f"analysis.methods: must be a list of names from {', '.join(known)}, "
                        f"got {got(methods)}")
        return tuple(m.name for m in registry.methods() if m.required)
    for m in methods:
        if m not in known:
            problems.append(f"analysis.methods: unknown method {short(m)}; allowed: "
                            f"{', '.join(known)}")
    design = sampling["design"] if sampling["design"] in DESIGNS else DESIGNS[0]
    for method in registry.methods(design):
        if method.required and method.name not in methods:
            problems.append(f'analysis.methods: must include "{method.name}": '
                            f"{method.required}")
    given = analysis["slices"] is not None
    if not given:  # the same at every N: a store's identity must not change with N
        analysis["slices"] = DEFAULT_SLICES
    for key in ("slices", "bins"):
        if not int_in(analysis[key], 2, MAX_CUTS):
            problems.append(f"analysis.{key}: must be an integer in [2, {MAX_CUTS}], got "
                            f"{got(analysis[key])}")
    chosen = [m for m in registry.methods() if m.name in methods]
    for check in dict.fromkeys(m.check for m in chosen if m.check is not None):
        check(analysis, {**sampling, "slices_given": given}, problems)  # shared: once
    return tuple(m.name for m in chosen)


def _check_options(model, table, problems):
    """({option: [values]}, swept option names) from [model]; `concepts` = `concept`."""
    options, swept = {}, []
    known = set(model.options) | {f"{o}s" for o in model.options} | {"name"}
    for key in table:
        if key not in known:
            problems.append(f"model.{key}: unknown key; allowed: name, "
                            + ", ".join(f"{o} (or {o}s = [...])" for o in model.options))
    for option, allowed in model.options.items():
        given = [k for k in (option, f"{option}s") if k in table]
        if len(given) > 1:
            problems.append(f"model: give {option!r} or {option + 's'!r}, not both")
            continue
        value = table[given[0]] if given else allowed[0]
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        if bad or not values or len(set(values)) != len(values):
            problems.append(f"model.{given[0] if given else option}: {value!r} is not "
                            f"allowed; allowed: {', '.join(allowed)} (distinct, as a string "
                            "or a list)")
            continue
        options[option] = values
        if isinstance(value, list):
            swept.append(option)
    return options, tuple(swept)


def _check_outputs(table, model, problems):
    """Requested model outputs; default: every continuous output and every code output."""
    if not isinstance(table, dict) or set(table) - {"names"}:
        problems.append("outputs: allowed key: names = [output, ...]")
        return ()
    usable = [v.name for v in model.outputs if not v.flag_masks]
    default = [v.name for v in model.outputs
               if v.flag_values or v.dtype.startswith("float")]
    names = table.get("names", default)
    if not isinstance(names, list) or not names:
        problems.append("outputs.names: must be a non-empty list of output names")
        return ()
    bad = [n for n in names if not isinstance(n, str) or n not in usable]
    for n in bad:
        problems.append(f"outputs.names: {short(n)} is not an output that has Sobol "
                        f"indices; allowed: {', '.join(usable)}")
    return () if bad else tuple(dict.fromkeys(names))


