"""``python -m octohome.cli``: the same as the ``octohome`` command."""

import sys

from octohome.cli import main

sys.exit(main())
