"""The command line: ``python -m crossview <command> ...``.

Each command is a module in :mod:`crossview.commands` with a ``register(subparsers)``
function; they are discovered at start-up, so adding a command means adding one
file. Commands print human-readable tables, or JSON with ``--json`` (both from
:mod:`crossview.tables`). This module imports the commands; no command imports it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crossview",
        description="Cross View Fusion for 3D Human Pose Estimation: data, training, "
                    "evaluation and benchmarks from the command line.")
    # not required: a bare `python -m crossview` gets the list of commands (see main)
    sub = parser.add_subparsers(dest="command", metavar="command")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def command_list(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """``(name, help)`` of every command of ``parser``, in the order ``--help`` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # argparse keeps each command's one-line help only in this private list
            return [(a.dest, a.help or "") for a in action._choices_actions]
    return []


def usage_without_command(parser: argparse.ArgumentParser) -> str:
    """What a bare ``python -m crossview`` prints: the usage line and every command on one
    line (``--help`` wraps long ones to the terminal's width)."""
    rows = command_list(parser)
    width = max(len(name) for name, _ in rows)
    lines = [parser.format_usage().rstrip(), "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in rows]
    lines += ["", f"{parser.prog} <command> --help shows a command's options"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a usage error, as argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print(usage_without_command(parser), file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
