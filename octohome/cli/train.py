"""``octohome train``: train a model for a catalog (:mod:`octohome.training.train`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_cli(p: argparse.ArgumentParser) -> None:
    from octohome.training.train import INCREMENTAL_STEPS, TrainConfig

    d = TrainConfig()
    p.add_argument("--catalog", type=Path, help="catalog directory (default: devices/)")
    p.add_argument("--out", type=Path, default=Path("runs/train"), help="output directory")
    p.add_argument(
        "--steps", type=int, default=None,
        help="optimizer steps (default: one epoch, at least 900 -- about 1,200 for the"
        f" demo home; {INCREMENTAL_STEPS} with --from)",
    )
    p.add_argument(
        "--from", dest="start_from", type=Path, metavar="RUN",
        help="continue from a trained run (its directory or delta.npz, e.g. models/demo-home.npz)"
        " after adding or renaming devices: trains on the changed devices' examples plus as"
        " many others, in a few minutes; the functions must be the same",
    )
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="examples per step")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--per-function", type=int, default=d.per_function, help="generated examples per function"
    )
    p.add_argument(
        "--first-layer",
        type=int,
        default=d.first_layer,
        help="LoRA on this layer and above (lower layers frozen)",
    )
    p.add_argument(
        "--style",
        choices=["octohome", "octopus"],
        default="octohome",
        help="octopus: <nexa_N> tokens and the Octopus v2 prompt",
    )
    p.add_argument("--quant", choices=["q8_0", "q4_k_m", "f16"], default="q8_0")
    p.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help="CPU threads (default 2; the same count reproduces a model exactly, another"
        " count differs slightly)",
    )
    p.add_argument("--dump-data", type=Path, help="also write the generated data as JSONL")
    p.add_argument(
        "--extra-data",
        type=Path,
        help="JSONL of more examples (text, calls), e.g. commands as the recognizer wrote"
        " them (bench/heard_data.py); each call is checked against the catalog",
    )


def run_cli(args: argparse.Namespace) -> int:
    from octohome.core.catalog import Catalog
    from octohome.training.dataset import build_dataset, write_jsonl
    from octohome.training.train import INCREMENTAL_STEPS, TrainConfig, train

    catalog = Catalog.load(args.catalog)
    cfg = TrainConfig(
        seed=args.seed,
        steps=args.steps or (INCREMENTAL_STEPS if args.start_from else TrainConfig().steps),
        start_from=str(args.start_from) if args.start_from else None,
        batch_size=args.batch_size,
        per_function=args.per_function,
        first_layer=args.first_layer,
        style=args.style,
        threads=args.threads,
    )
    if args.dump_data:
        write_jsonl(
            build_dataset(catalog, cfg.seed, cfg.per_function, cfg.negative_share), args.dump_data
        )
    extra = None
    if args.extra_data:
        from octohome.training.dataset import read_examples

        try:
            extra = read_examples(args.extra_data, catalog)
        except (OSError, ValueError) as exc:
            print(f"octohome train: {exc}", file=sys.stderr)
            return 2
    path = train(catalog, cfg, args.out, quant=args.quant, extra=extra)
    print(path)
    return 0
