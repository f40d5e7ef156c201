"""The command line: argument parsing and rendering (tables, progress bars); the work happens in the layers below.

`main(argv)` is the `rule-runner` command.
"""

from runner.cli.main import main

__all__ = ["main"]
