"""``octohome bench``: latency, memory and accuracy, measured.

``bench model`` is :func:`octohome.bench.model.bench_model`; ``bench stt`` and
``bench mqtt`` come from :mod:`octohome.bench.stt` and :mod:`octohome.bench.mqtt`,
which expose ``add_bench_args(parser)`` and ``run_bench(args)``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from octohome.cli.parse import add_model_args, open_parser

_EXTERNAL = {"stt": "octohome.bench.stt", "mqtt": "octohome.bench.mqtt",
             "spoken": "octohome.bench.spoken"}


def add_cli(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bench_cmd", metavar="WHAT", required=True)
    m = sub.add_parser("model", help="parser latency, RSS, and the conventional-prompt comparison")
    add_model_args(m)
    m.add_argument("--rounds", type=int, default=3, help="passes over the fixed set")
    m.add_argument(
        "--conventional-n", type=int, default=6,
        help="utterances run the conventional way (slow; 0 skips the comparison)",
    )
    m.add_argument(
        "--gen-tokens", type=int, default=25, help="tokens generated per conventional call"
    )
    m.add_argument("--threads", type=int, default=2, help="threads for the conventional run")
    m.add_argument(
        "--baseline", type=Path, metavar="GGUF",
        help="an earlier model to time in the same run, interleaved (e.g. the v1 model)",
    )
    m.add_argument(
        "--baseline-catalog", type=Path, metavar="DIR",
        help="the catalog the baseline model was trained for",
    )
    m.add_argument("--json", action="store_true")
    for name, module_name in _EXTERNAL.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        sp = sub.add_parser(name, help=f"{name} benchmark")
        module.add_bench_args(sp)


def run_cli(args: argparse.Namespace) -> int:
    if args.bench_cmd in _EXTERNAL:
        module = importlib.import_module(_EXTERNAL[args.bench_cmd])
        return int(module.run_bench(args) or 0)
    from octohome.bench.model import bench_model

    result = bench_model(args, open_parser)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:32} {v}")
    sys.stdout.flush()
    return 0
