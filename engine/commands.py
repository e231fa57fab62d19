"""The command line's commands and their top-level parser, importing nothing but
argparse: reesens.__main__ answers --version and --help with it alone, and reesens.cli
adds each command's options to it."""
from __future__ import annotations

import argparse

DESCRIPTION = ("Monte Carlo Sobol' sensitivity studies of game-theoretic rare-earth trade "
               "models.")
COMMAND_HELP = {
    "validate": "check a study file, run nothing",
    "run": "run a study and write its zarr store",
    "grid": "sweep the study's [grid] into a zarr cube",
    "show": "print the ranking table of a store (of a grid store: its dims, cells and code "
            "shares)",
    "verify": "check every chunk of a store against its checksums (exit 0 only when all "
              "is intact)",
    "export": "write a store's indices as a tidy table (CSV or Parquet)",
    "report": "figures, a Markdown summary and an HTML page of a store",
}


def parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and {command: its (empty) subparser}."""
    from importlib.metadata import version
    top = argparse.ArgumentParser(prog="reesens", description=DESCRIPTION)
    top.add_argument("--version", action="version", version=f"reesens {version('reesens')}")
    commands = top.add_subparsers(dest="command", required=True)
    return top, {name: commands.add_parser(name, help=text)
                 for name, text in COMMAND_HELP.items()}
