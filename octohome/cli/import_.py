"""``octohome import zigbee2mqtt|homeassistant``: write a catalog of your own home
(:mod:`octohome.importing`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.core.config import Settings
    from octohome.importing.home import ImportedHome

DEFAULT_OUT = Path("myhome")
"""Where a first import goes when the config names no catalog of its own."""


def add_cli(p: argparse.ArgumentParser) -> None:
    sources = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="catalog directory to write or update (default: the config's 'catalog' when"
             f" it is not the shipped demo home, else ./{DEFAULT_OUT})")
    common.add_argument("--dry-run", action="store_true",
                        help="say what would change, write nothing")
    z = sources.add_parser(
        "zigbee2mqtt", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="devices from zigbee2mqtt's retained bridge topics ([mqtt] broker)",
        description="Read <base>/bridge/devices, bridge/groups and bridge/info from the\n"
                    "broker of [mqtt] (OCTOHOME_MQTT__*) and write the lights, switches,\n"
                    "covers, thermostats, locks and fans with their MQTT mapping. Rooms come\n"
                    "from friendly names ('kitchen/ceiling_light') or --room. Sensors, remotes\n"
                    "and the coordinator are skipped (listed). Group scenes become scenes.")
    z.add_argument("--room", action="append", default=[], metavar="NAME=ROOM",
                   help="put the device with this friendly name (or IEEE address) in ROOM;"
                        " repeatable")
    z.add_argument("--base-topic", default=None,
                   help="zigbee2mqtt's base topic (default: the one found on the broker)")
    z.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for the broker (default 5)")
    sources.add_parser(
        "homeassistant", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="entities exposed to Assist, through Home Assistant's WebSocket API",
        description="Read, with [homeassistant] url and token (a long-lived access token;\n"
                    "OCTOHOME_HOMEASSISTANT__URL / __TOKEN), the entities exposed to Assist\n"
                    "with their names and aliases, areas and floors, device classes and\n"
                    "features, and scenes. Commands then go through Home Assistant.")


def _out_dir(args: argparse.Namespace, settings: Settings) -> Path:
    from octohome.core.catalog import DEFAULT_CATALOG_DIR

    if args.out is not None:
        return Path(args.out)
    if settings.catalog is not None and (
            Path(settings.catalog).resolve() != DEFAULT_CATALOG_DIR.resolve()):
        return Path(settings.catalog)
    return DEFAULT_OUT


def _rooms(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, room = pair.partition("=")
        if not sep or not name.strip() or not room.strip():
            raise ValueError(f"--room {pair!r}: write it as NAME=ROOM")
        out[name.strip()] = room.strip()
    return out


def _read(args: argparse.Namespace, settings: Settings) -> ImportedHome:
    if args.source == "zigbee2mqtt":
        from octohome.importing.zigbee2mqtt import home_from_bridge, read_bridge

        bridge = read_bridge(settings.mqtt, args.base_topic, timeout=args.timeout)
        return home_from_bridge(bridge, _rooms(args.room))
    from octohome.importing.homeassistant import read_home

    return read_home(settings)


def run_cli(args: argparse.Namespace) -> int:
    from octohome.core.config import ConfigError, load_settings
    from octohome.importing.catalog_writer import ImportFailed, write_catalog

    prog = f"octohome import {args.source}"
    try:
        settings = load_settings(args.config)
        if args.source == "zigbee2mqtt":
            _rooms(args.room)
    except (ConfigError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    out = _out_dir(args, settings)
    try:
        home = _read(args, settings)
        report = write_catalog(home, out, dry_run=args.dry_run)
    except (ImportFailed, RuntimeError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    if report.written:
        where = out.resolve()
        configured = settings.catalog is not None and Path(settings.catalog).resolve() == where
        print(f"next: octohome train --catalog {out} --out runs/{where.name}")
        if not configured:
            print(f'      and point config.toml at it: catalog = "{where}"')
    return 0
