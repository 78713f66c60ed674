"""The call format shared by training and runtime: prompt, function table, call text.

A model answers ``<fn>('living_room_lamp', 30)<end>`` (the Octopus v2 shape):
one functional token, the arguments as a Python-style tuple, an end token.
"Not a command" is its own functional token. The prompt is a fixed prefix,
the query, and a fixed suffix, each tokenized on its own so the prefix's
tokens (and its KV cache at run time) never depend on the query.

The function table ties function names to token ids and travels inside the
GGUF (metadata key ``octohome.function_table``), so the runtime is driven by
the model file, not by code: an Octopus-v2-format model runs too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from octohome.core.catalog import Catalog, arg_values, format_value

OCTOPUS_PREFIX = (
    "Below is the query from the users, please call the correct function and generate"
    " the parameters to call the function.\n\nQuery:"
)
OCTOPUS_SUFFIX = " \n\nResponse:"

FIRST_TOKEN_ID = 6
"""Gemma 3's ``<unused0>``: ids 6..104 are reserved control tokens we rename."""

TABLE_KEY = "octohome.function_table"
FINGERPRINT_KEY = "octohome.catalog_fingerprint"
TRAINING_KEY = "octohome.training"


@dataclass(frozen=True)
class Call:
    """A validated device call, or "not a command" (function None)."""

    function: str | None
    """Catalog function name such as ``light.set_brightness``; None: not a command."""

    arguments: dict[str, Any] = field(default_factory=dict)
    """Validated arguments (device id first); empty for not-a-command."""

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "arguments": dict(self.arguments)}


NOT_A_COMMAND = Call(None, {})


@dataclass(frozen=True)
class FunctionTable:
    """Function name <-> functional token, plus the prompt the model was trained with."""

    functions: tuple[str, ...]
    """Function names in token order."""

    tokens: tuple[str, ...]
    """Token text per function (``<fn_0>`` or ``<nexa_0>``)."""

    token_ids: tuple[int, ...]
    """Vocabulary id per function."""

    none_token: str
    none_id: int
    end_token: str
    end_id: int
    prompt_prefix: str
    prompt_suffix: str
    fingerprint: str = ""
    """Catalog fingerprint the model was trained for ('' when unknown)."""

    style: str = "octohome"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_catalog(cls, catalog: Catalog, style: str = "octohome") -> FunctionTable:
        """The deterministic table for a catalog: token i is function i."""
        names = catalog.function_names
        n = len(names)
        if style == "octopus":
            tokens = tuple(f"<nexa_{i}>" for i in range(n))
            none_tok, end_tok = f"<nexa_{n}>", "<nexa_end>"
            prefix, suffix = OCTOPUS_PREFIX, OCTOPUS_SUFFIX
        else:
            tokens = tuple(f"<fn_{i}>" for i in range(n))
            none_tok, end_tok = "<fn_none>", "<fn_end>"
            prefix, suffix = "Command:", "\nCall:"
        if n + 2 > 99:
            raise ValueError("at most 97 functions fit in Gemma 3's reserved tokens 6..104")
        ids = tuple(FIRST_TOKEN_ID + i for i in range(n))
        return cls(
            functions=names,
            tokens=tokens,
            token_ids=ids,
            none_token=none_tok,
            none_id=FIRST_TOKEN_ID + n,
            end_token=end_tok,
            end_id=FIRST_TOKEN_ID + n + 1,
            prompt_prefix=prefix,
            prompt_suffix=suffix,
            fingerprint=catalog.fingerprint,
            style=style,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FunctionTable:
        data = json.loads(text)
        for key in ("functions", "tokens", "token_ids"):
            data[key] = tuple(data[key])
        return cls(**data)

    @property
    def all_token_ids(self) -> tuple[int, ...]:
        return (*self.token_ids, self.none_id, self.end_id)


def args_text(catalog: Catalog, function: str, arguments: dict[str, Any]) -> str:
    """``('living_room_lamp', 30)``: the canonical argument text of a call."""
    sig = catalog.signature(function)
    parts: list[str] = []
    if sig.device_ids:
        parts.append(repr(str(arguments["device"])))
    for arg in sig.args:
        value = arguments[arg.name]
        if arg.kind in ("int", "number"):
            parts.append(format_value(float(value)))
        else:
            parts.append(repr(str(value)))
    return "(" + ", ".join(parts) + ")"


def candidate_args(catalog: Catalog, function: str) -> list[tuple[str, dict[str, Any]]]:
    """Every valid argument text of a function with its arguments (finite by design)."""
    sig = catalog.signature(function)
    combos: list[dict[str, Any]] = (
        [{"device": d} for d in sig.device_ids] if sig.device_ids else [{}]
    )
    for arg in sig.args:
        values = arg_values(arg, sig.scene_ids)
        nxt: list[dict[str, Any]] = []
        for combo in combos:
            for v in values:
                value: Any = v
                if arg.kind == "int":
                    value = int(v)
                elif arg.kind == "number":
                    value = int(float(v)) if float(v).is_integer() else float(v)
                nxt.append({**combo, arg.name: value})
        combos = nxt
    return [(args_text(catalog, function, c), c) for c in combos]


class Encoder:
    """Turns (query, call) into token ids exactly as the runtime will see them."""

    def __init__(self, tokenize: Any, table: FunctionTable, catalog: Catalog, bos: int) -> None:
        self.tokenize = tokenize
        self.table = table
        self.catalog = catalog
        self.prefix = [bos, *tokenize(table.prompt_prefix)]
        self.suffix = list(tokenize(table.prompt_suffix))
        self._fn_id = dict(zip(table.functions, table.token_ids, strict=True))

    def prompt(self, query: str) -> list[int]:
        return [*self.prefix, *self.query_ids(query), *self.suffix]

    def query_ids(self, query: str) -> list[int]:
        return list(self.tokenize(" " + " ".join(query.split())))

    def target(self, function: str | None, arguments: dict[str, Any]) -> list[int]:
        if function is None:
            return [self.table.none_id, self.table.end_id]
        text = args_text(self.catalog, function, arguments)
        return [self._fn_id[function], *self.tokenize(text), self.table.end_id]
