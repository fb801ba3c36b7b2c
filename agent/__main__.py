"""`python -m agent`: runs the medrwa-agent command line."""

import sys

from agent.cli import main

sys.exit(main())
