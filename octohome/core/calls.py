"""The call format shared by training and runtime: prompt, function table, call text.

A model answers ``<fn>('living_room_lamp', 30)<end>`` (the Octopus v2 shape):
one functional token, the arguments as a Python-style tuple, an end token.
Several commands are several calls before the one end token
(``<fn_1>('tv')<fn_0>('living_room_lamp')<end>``). The device may be a group,
``'scope:class'`` (``'upstairs:light'``, ``'home:blind'``, ``'here:media'`` for
the speaker's room), which the runtime expands from the catalog
(:func:`expand`): one call per device, so the model writes "all seven lights"
in a few tokens and can never name a device twice or forget one.
"Not a command" is its own functional token, and so is "later" (a delayed or
conditional request: understood, refused, with a reason). The prompt is a fixed prefix,
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

from octohome.core.catalog import HERE_SCOPE, HOME_SCOPE, Catalog, arg_values, format_value

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
class Parsed:
    """What one utterance asks for: every device call in the order spoken, or a refusal."""

    calls: tuple[Call, ...] = ()
    """Validated calls, groups expanded to one call per device; empty: nothing to do."""

    reason: str | None = None
    """Why nothing (or not everything) is done, in words a person understands."""

    margin: float = float("inf")
    """How sure the model was: the smallest gap, in logits, between its choice and the
    runner-up at any decision it made (function, device, value, end). A guess (a small
    margin) on a door lock is worse than no call: see the callers' policies."""

    refused: bool = field(default=False, compare=False)
    """The model understood a command and refused it on purpose: a value out of range,
    a number not said, an unsure direction, a delayed or conditional request, a room
    the home has not ("the bathroom light" where there is none). Another
    hypothesis of the same utterance must not stand in for it with calls: "Set the
    office light to 300 percent." is not done as Whisper's "... to 100 percent.", nor
    "... off at midnight." as "... off."."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calls": [c.to_json() for c in self.calls]}
        if self.reason:
            out["reason"] = self.reason
        return out


NOTHING = Parsed()

LATER_REASON = "I can only act now, not later or on a condition: nothing was done"


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
    later_token: str = ""
    """Token for a delayed or conditional request ('' when the model has none)."""

    later_id: int = -1
    max_calls: int = 1
    """How many calls the model may write in one answer (1 for a v1 model)."""

    group_text: str = "scope:class"
    """How the model writes a group target: ``class@scope`` (``'light@kitchen'``) since
    the class comes first, so that a group and a device part at the argument's first
    token ('kitchen_lights' and 'kitchen:light' shared 'kitchen' and cost the parser a
    model step on every call of such a device); ``scope:class`` for models trained
    before."""

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
        if n + 3 > 99:
            raise ValueError("at most 96 functions fit in Gemma 3's reserved tokens 6..104")
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
            later_token="<fn_later>" if style == "octohome" else "",
            later_id=FIRST_TOKEN_ID + n + 2 if style == "octohome" else -1,
            max_calls=MAX_CALLS,
            group_text=GROUP_TEXT,
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
        extra = (self.later_id,) if self.later_id >= 0 else ()
        return (*self.token_ids, self.none_id, self.end_id, *extra)

    @property
    def special_tokens(self) -> tuple[tuple[str, int], ...]:
        """Every token of the table with its id, for the tokenizer and the embeddings."""
        pairs = [*zip(self.tokens, self.token_ids, strict=True)]
        pairs += [(self.none_token, self.none_id), (self.end_token, self.end_id)]
        if self.later_id >= 0:
            pairs.append((self.later_token, self.later_id))
        return tuple(pairs)


MAX_CALLS = 4
"""Calls in one answer: three commands, one of them written as two calls."""


GROUP_TEXT = "class@scope"
"""The group-target writing of newly trained models (:attr:`FunctionTable.group_text`)."""


def group_target(device: object) -> tuple[str, str] | None:
    """``'upstairs:light'`` -> ``('upstairs', 'light')``: the scope (a floor, the home,
    the speaker's room) and the kind of a group target; ``None`` for one device's id.
    One place reads the model's "scope:kind" writing, so the parser's checks and
    :func:`expand` cannot read it differently."""
    if not isinstance(device, str) or ":" not in device:
        return None
    scope, kind = device.split(":", 1)
    return scope, kind


def args_text(catalog: Catalog, function: str, arguments: dict[str, Any],
              group_text: str = GROUP_TEXT) -> str:
    """``('living_room_lamp', 30)``: the canonical argument text of a call. A group
    target ``'upstairs:light'`` is written ``'light@upstairs'`` (``group_text``)."""
    sig = catalog.signature(function)
    parts: list[str] = []
    if sig.device_ids:
        device = str(arguments["device"])
        group = group_target(device)
        if group is not None and group_text == "class@scope":
            device = f"{group[1]}@{group[0]}"
        parts.append(repr(device))
    for arg in sig.args:
        value = arguments[arg.name]
        if arg.kind in ("int", "number"):
            parts.append(format_value(float(value)))
        else:
            parts.append(repr(str(value)))
    return "(" + ", ".join(parts) + ")"


def candidate_args(
    catalog: Catalog, function: str, *, groups: bool = True, group_text: str = GROUP_TEXT
) -> list[tuple[str, dict[str, Any]]]:
    """Every valid argument text of a function with its arguments (finite by design);
    the device may be a group target unless ``groups`` is false."""
    sig = catalog.signature(function)
    targets = [*sig.device_ids, *(sig.groups if groups else ())]
    combos: list[dict[str, Any]] = [{"device": d} for d in targets] if sig.device_ids else [{}]
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
    return [(args_text(catalog, function, c, group_text), c) for c in combos]


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
        """One call (v1 shape), or not-a-command when ``function`` is None."""
        if function is None:
            return [self.table.none_id, self.table.end_id]
        return self.calls_target([(function, arguments)])

    def calls_target(self, calls: list[tuple[str, dict[str, Any]]]) -> list[int]:
        """Several calls, as the model writes them: ``<fn>(args)<fn>(args)<end>``."""
        if not calls:
            return [self.table.none_id, self.table.end_id]
        out: list[int] = []
        for function, arguments in calls:
            text = args_text(self.catalog, function, arguments, self.table.group_text)
            out += [self._fn_id[function], *self.tokenize(text)]
        return [*out, self.table.end_id]

    def later_target(self) -> list[int]:
        """A delayed or conditional request: understood, not done now (not a command
        for a table without the "later" token, as the Octopus style's)."""
        if self.table.later_id < 0:
            return [self.table.none_id, self.table.end_id]
        return [self.table.later_id, self.table.end_id]


def expand(
    catalog: Catalog, function: str, arguments: dict[str, Any], room: str | None
) -> tuple[tuple[Call, ...], str | None]:
    """A call whose device may be a group -> one call per device, in catalog order.

    ``room`` is the speaker's room (``[site] room`` / ``--room``), by name or id.
    Returns the calls, or no calls and the reason a person would be told.
    """
    group = group_target(arguments.get("device"))
    if group is None:
        return (Call(function, dict(arguments)),), None
    scope, kind = group
    dev_type = function.split(".")[0]
    typed = [d for d in catalog.devices
             if d.type == dev_type and catalog.in_group(d, kind)
             and catalog.device_has(d, function)]
    words = catalog.group_words(kind)
    word = words[0] if words else kind
    if scope == HOME_SCOPE:
        chosen = typed
        where = "in the home"
    elif scope == HERE_SCOPE:
        here = catalog.find_room(room) if room else None
        chosen = [d for d in typed if here is not None and catalog.room_of(d).id == here.id]
        where = f"in the {here.name}" if here is not None else ""
        if not chosen and len(typed) == 1:
            chosen = typed  # the home's only thermostat: "make it warmer" anywhere
        elif not chosen and here is None:
            return (), (
                f"Which {word}? There are {len(typed)}: say the room"
                if typed
                else f"There are no {word} in the home"
            )
    else:
        floor = next((f for f in catalog.floors if f.id == scope), None)
        if floor is not None:
            chosen = [d for d in typed if catalog.room_of(d).floor == floor.id]
            bare = floor.name in ("upstairs", "downstairs")
            where = floor.name if bare else f"on the {floor.name}"
        else:
            chosen = [d for d in typed if catalog.room_of(d).id == scope]
            r = catalog.find_room(scope)
            where = f"in the {r.name if r else scope.replace('_', ' ')}"
    if not chosen:
        return (), f"There are no {word} {where}".strip()
    calls = tuple(Call(function, {**arguments, "device": d.id}) for d in chosen)
    return calls, None
