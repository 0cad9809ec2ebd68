"""`python -m bot.cli …` runs the `podcast-bot` command."""

import sys

from bot.cli.main import main

sys.exit(main())
