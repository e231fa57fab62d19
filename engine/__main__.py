"""The command line's front: the `reesens` script and `python -m reesens`. Without a
command (--version, --help, nothing, a typo) it answers from reesens.commands alone,
importing nothing heavy; with one, reesens.cli runs it."""
import sys

from reesens import commands


def command_line() -> int:
    """The console script."""
    if not any(arg in commands.COMMAND_HELP for arg in sys.argv[1:]):
        commands.parser()[0].parse_args(sys.argv[1:])  # prints, then exits
    from reesens import cli
    return cli.command_line()


if __name__ == "__main__":
    sys.exit(command_line())
