"""`python -m runner`: the `rule-runner` command."""

import sys

from runner.cli import main

sys.exit(main())
