"""``octohome parse``: sentence(s) -> call(s), in the contract of demo-home.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.core.calls import Call, Parsed
    from octohome.understand.parser import Parser


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that loads the model."""
    p.add_argument(
        "--model",
        type=Path,
        metavar="GGUF",
        help="model file (default: [model] path, else the shipped demo-home model)",
    )
    p.add_argument(
        "--function-table",
        type=Path,
        metavar="JSON",
        help="function table for a GGUF without octohome metadata",
    )
    p.add_argument(
        "--catalog", type=Path, metavar="DIR", help="device catalog directory (default: devices/)"
    )


def open_parser(args: argparse.Namespace) -> Parser:
    """Build the Parser from CLI options over the config file."""
    from octohome.core.config import load_settings
    from octohome.understand.parser import load_parser

    settings = load_settings(getattr(args, "config", None))
    if args.model is not None:
        settings.model.path = args.model
    if args.function_table is not None:
        settings.model.function_table = args.function_table
    if args.catalog is not None:
        settings.catalog = args.catalog
    return load_parser(settings)


def format_call(call: Call) -> str:
    if call.function is None:
        return "not a command"
    args = ", ".join(f"{k}={v}" for k, v in call.arguments.items())
    return f"{call.function}({args})"


def format_parsed(parsed: Parsed) -> str:
    """Calls one per line, or "nothing" and why: what a person reads in a terminal."""
    if not parsed.calls:
        return "nothing to do" + (f": {parsed.reason}" if parsed.reason else " (not a command)")
    return "\n".join(format_call(c) for c in parsed.calls)


def add_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", nargs="+", help="the utterance, or '-' to read one per line from stdin")
    p.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object per utterance: {"calls": [...]} plus "reason" when refused',
    )
    p.add_argument(
        "--room",
        metavar="ROOM",
        help="the room the speaker is in (as [site] room): 'turn on the light' means its lights",
    )
    add_model_args(p)


def run_cli(args: argparse.Namespace) -> int:
    from octohome.core.catalog import CatalogError
    from octohome.core.config import ConfigError
    from octohome.understand.parser import ModelError

    try:
        parser = open_parser(args)
    except (ModelError, CatalogError, ConfigError) as exc:
        print(f"octohome parse: {exc}", file=sys.stderr)
        return 2

    room = args.room
    if room is not None and parser.catalog.find_room(room) is None:
        rooms = ", ".join(r.name for r in parser.catalog.rooms)
        print(f"octohome parse: --room {room!r} is not a room of this home ({rooms})",
              file=sys.stderr)
        return 2

    def emit(text: str) -> None:
        parsed = parser.parse(text, room=room)
        out = (
            json.dumps(parsed.to_json(), ensure_ascii=False) if args.json else format_parsed(parsed)
        )
        sys.stdout.write(out + "\n")
        sys.stdout.flush()

    if args.text == ["-"]:
        for raw in sys.stdin.buffer:
            emit(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    else:
        emit(" ".join(args.text))
    return 0
