"""python -m pgaudit_archiver_cli: the same as the pgaudit-archiver console script."""

import sys

from pgaudit_archiver_cli import main

sys.exit(main())
