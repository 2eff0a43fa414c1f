"""`bench <command>`: each command lives in its own module with its own argparse."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "run": ("bench.commands.run", "run a test plan (default: core on the simulated rig)"),
    "serve": ("bench.commands.serve", "the CSMS endpoint alone: watch and record a station"),
    "sim": ("sim.cli", "start the simulated rig (station and instrument twins)"),
    "check": ("bench.commands.check", "identify every instrument of a rig, change nothing"),
    "report": ("bench.commands.report", "rebuild the reports of a run directory"),
    "compare": ("bench.commands.compare", "compare two runs (nightly regression view)"),
    "history": ("bench.commands.history", "the history of nights: timelines, trends, drift"),
}


def usage() -> str:
    lines = ["usage: bench <command> [options]", "", "commands:"]
    lines += [f"  {name:<8} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines.append("\n`bench <command> --help` for the options of one command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"bench: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except BrokenPipeError:  # `bench check --list-drivers | head`: the reader has gone
        sys.stderr.close()  # nothing more to say, and no second error at interpreter exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
