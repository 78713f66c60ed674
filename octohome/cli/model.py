"""``octohome model``: build, check or inspect model files.

The work is done in :mod:`octohome.understand.modelfile` and
:mod:`octohome.understand.selfcheck`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_cli(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="model_cmd", metavar="ACTION", required=True)
    inst = sub.add_parser("install", help="build the shipped demo-home model (idempotent)")
    inst.add_argument("--force", action="store_true", help="rebuild even if up to date")
    check = sub.add_parser(
        "check",
        help="run one known command through the model in a child process",
        description="Loads the model (default: the configured one, else the shipped\n"
        "demo-home model) in a child process and parses one known command. Exit 0:\n"
        "it answered right; 1: it loaded but answered wrong, or could not load;\n"
        "3: llama.cpp crashed (a signal), i.e. this llama.cpp build does not suit\n"
        "this CPU: ./setup.sh rebuilds it with a more portable one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("path", type=Path, nargs="?", help="GGUF file (default: configured)")
    info = sub.add_parser("info", help="print a GGUF's function table and fingerprint")
    info.add_argument("path", type=Path, nargs="?", help="GGUF file (default: shipped model)")
    build = sub.add_parser("build", help="merge a delta .npz into the base GGUF")
    build.add_argument("delta", type=Path)
    build.add_argument("out", type=Path)
    build.add_argument("--quant", choices=["q8_0", "q4_k_m", "f16"], default="q8_0")


def run_cli(args: argparse.Namespace) -> int:
    if args.model_cmd == "check":
        from octohome.understand.selfcheck import run_check

        result = run_check(args.path, config=getattr(args, "config", None))
        print(result.message, file=sys.stdout if result.code == 0 else sys.stderr)
        return result.code

    from octohome.core.calls import TABLE_KEY, TRAINING_KEY, FunctionTable
    from octohome.understand.modelfile import (
        base_gguf_path,
        build_gguf,
        install_shipped,
        read_metadata,
        shipped_model_path,
    )

    if args.model_cmd == "install":
        print(install_shipped(force=args.force))
        return 0
    if args.model_cmd == "build":
        print(build_gguf(base_gguf_path(), args.delta, args.out, quant=args.quant))
        return 0
    path = args.path or shipped_model_path()
    meta = read_metadata(path)
    if not meta:
        print(f"{path}: no octohome metadata (a foreign model: pass --function-table)")
        return 1
    table = FunctionTable.from_json(meta[TABLE_KEY])
    print(f"model: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"catalog fingerprint: {table.fingerprint}  style: {table.style}")
    for fn, tok, tid in zip(table.functions, table.tokens, table.token_ids, strict=True):
        print(f"  {tok:>12} (id {tid:3d})  {fn}")
    print(f"  {table.none_token:>12} (id {table.none_id:3d})  not a command")
    if TRAINING_KEY in meta:
        print("training:", meta[TRAINING_KEY])
    return 0
