"""`python -m cnnzoo` is the `cnnzoo` command."""

import sys

from cnnzoo.cli import main

sys.exit(main())
