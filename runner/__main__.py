"""`python -m runner`: the `rule-runner` command."""

import sys

from runner.cli.main import main

sys.exit(main())
