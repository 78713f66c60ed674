"""``octohome`` with the stand-in parser, for tests that run the daemon as a process.

    python -m tests.daemon_stub [--config PATH] run --no-audio
"""

from __future__ import annotations

import sys

from octohome.cli import build_parser, run
from tests.stub_parser import stub_factory

if __name__ == "__main__":
    args = build_parser().parse_args(sys.argv[1:])
    sys.exit(run.run_cli(args, parser_factory=stub_factory))
