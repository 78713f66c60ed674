"""``octohome eval``: the model's accuracy on a JSONL file (:mod:`octohome.training.evaluate`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from octohome.cli.parse import add_model_args, open_parser


def add_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="JSONL file of expected calls")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_model_args(p)


def run_cli(args: argparse.Namespace) -> int:
    from octohome.training.evaluate import evaluate, read_jsonl

    try:
        rows = read_jsonl(args.file)
    except (OSError, ValueError) as exc:
        print(f"octohome eval: {exc}", file=sys.stderr)
        return 2
    report = evaluate(open_parser(args), rows)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.format())
    return 0
