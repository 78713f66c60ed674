"""Runtime of the functional-token model: text -> validated calls, with llama.cpp.

How a query is decoded (Octopus v2 with a constrained decoder):
1. The prompt's fixed prefix is evaluated once at load; each query reuses its
   KV cache and evaluates only the query and the suffix.
2. The function is ONE decision: argmax of the last logits over the
   functional tokens plus the "not a command" token.
3. The arguments come from a token trie of every valid argument text of that
   function (device ids of its type, enum values, every value of an integer
   or number range), i.e. a grammar built from the signature. Where the trie
   has a single continuation the token is appended without asking the model
   (forced tokens are evaluated together in one batch); where it branches the
   model picks among the allowed tokens only. So an invalid call cannot be
   produced, and the catalog's validation runs once more before returning.
   After a call's closing token the model chooses the next call's functional
   token or the end token (several commands in one utterance); a group target
   is expanded from the catalog into one call per device (``calls.expand``).
4. Numbers are never bent. Inside a number the trie alone would let the model
   stop early ("150 percent" -> 15, "80 degrees" -> 8) or force the only valid
   digit ("35 degrees" -> 30). So at every digit position the model is asked,
   forced or not, and its choice is taken over the allowed tokens *and every
   digit*: when it would rather write a digit the range does not allow, the
   spoken value is outside the argument's range and there is no call. And a
   decoded number must be one the sentence says (``numbers.was_said``: digits
   or words, "minus", "and a half"), which catches what the model maps to the
   nearest value it was trained on ("one hundred and fifty" -> 100).
5. The answer is checked against the words (``understand/named.py``): a device in
   another room than the one said, a door not named, another device of the type named,
   one of a plural, another scene named, a place the home does not have, every device
   in the home for a singular, switching on or playing no word asks for, a value with
   no number said, a named device left out: no call, with the reason. Before the model
   runs, a common room the home has not ("the bathroom light", ``named.ROOM_WORDS``) is
   a final refusal (``Parsed.refused``).

The function table comes from the GGUF's metadata (or a JSON file for a
foreign Octopus-format model), so the runtime is driven by the model file.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octohome.core.calls import (
    LATER_REASON,
    NOTHING,
    TABLE_KEY,
    Call,
    Encoder,
    FunctionTable,
    Parsed,
    candidate_args,
    expand,
    group_target,
)
from octohome.core.catalog import HERE_SCOPE, ArgSpec, Catalog, format_value
from octohome.understand.named import Named
from octohome.understand.numbers import spoken_numbers, was_said

if TYPE_CHECKING:
    from octohome.core.config import Settings

MAX_QUERY_TOKENS = 96
"""Longer input is cut: no home command is that long, and the context stays small."""


class ModelError(RuntimeError):
    """The model file is missing, unreadable, or was trained for another catalog."""


_LEAF = -1

_MORE = re.compile(
    r"(?:(?:,|;|\b(?:and|then|also|plus|after|afterwards|too|as well)\b)\s*)+", re.I)
"""Words that can join another command (a run of them, ", and then", is one join): an
answer holds at most one call more than the sentence has joins, and once it has that
many the model is not asked for another (the question costs a model step, a fifth of
a single command's parse). Every several-command example of the training data keeps
to it."""


class Parser:
    """Loads a GGUF once and turns utterances into calls. Thread-safe (one lock)."""

    def __init__(
        self,
        model_path: Path,
        catalog: Catalog,
        *,
        table: FunctionTable | None = None,
        threads: int = 2,
        n_ctx: int = 512,
        sensitive_margin: float = 0.0,
        min_margin: float = 0.0,
    ) -> None:
        import llama_cpp

        if not model_path.exists():
            raise ModelError(f"{model_path}: model file not found (run 'octohome model install')")
        self.catalog = catalog
        self.path = model_path
        self.sensitive_margin = sensitive_margin
        self.min_margin = min_margin
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_batch=128,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except ValueError as exc:
            raise ModelError(f"{model_path}: llama.cpp could not load it: {exc}") from exc
        self.table = table or self._table_from_metadata()
        self._check_catalog()
        self._lock = threading.Lock()
        self.n_vocab = self.llm.n_vocab()
        self.encoder = Encoder(self.tokenize, self.table, catalog, self.llm.token_bos())
        self._fn_by_id = dict(zip(self.table.token_ids, self.table.functions, strict=True))
        self._callable = [t for t, f in self._fn_by_id.items() if self._has_candidates(f)]
        """Functional tokens of functions this home can call: a function of a type with
        no device (or scene.activate without scenes) has no valid argument text."""
        self._numeric = self._number_tokens()
        self._tries: dict[str, dict[int, Any]] = {}
        self._margin = float("inf")
        self.named = Named(catalog)
        self.llm.reset()
        self.llm.eval(self.encoder.prefix)
        self.prefix_len = self.llm.n_tokens

    def _table_from_metadata(self) -> FunctionTable:
        raw = self.llm.metadata.get(TABLE_KEY)
        if not raw:
            raise ModelError(
                f"{self.path}: the GGUF carries no function table ({TABLE_KEY});"
                " pass one with --function-table / [model] function_table"
            )
        return FunctionTable.from_json(raw)

    def _check_catalog(self) -> None:
        t, c = self.table, self.catalog
        if t.fingerprint and t.fingerprint != c.fingerprint:
            raise ModelError(
                f"{self.path} was trained for another catalog (fingerprint {t.fingerprint},"
                f" the catalog in {c.source} is {c.fingerprint}): retrain with 'octohome train'"
            )
        missing = [f for f in t.functions if f not in c.functions]
        if missing:
            raise ModelError(
                f"{self.path}: functions {missing} are not in the catalog: retrain with"
                " 'octohome train'"
            )

    def _has_candidates(self, function: str) -> bool:
        sig = self.catalog.signature(function)
        if self.catalog.functions[function].device_arg and not sig.device_ids:
            return False
        return not any(a.kind == "scene" for a in sig.args) or bool(sig.scene_ids)

    def _number_tokens(self) -> frozenset[int]:
        """The tokens a number is written with (digits and the decimal point), when each
        is one token (Gemma's tokenizer splits digits); empty otherwise, which turns the
        out-of-range check off rather than making it wrong."""
        ids = [self.tokenize(c) for c in "0123456789."]
        if any(len(t) != 1 for t in ids):
            return frozenset()
        return frozenset(t[0] for t in ids)

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _trie(self, function: str) -> dict[int, Any]:
        trie = self._tries.get(function)
        if trie is None:
            trie = {}
            groups = self.table.max_calls > 1  # a v1 model never learned group targets
            for text, args in candidate_args(self.catalog, function, groups=groups,
                                             group_text=self.table.group_text):
                node = trie
                for tok in self.tokenize(text):
                    node = node.setdefault(tok, {})
                node[_LEAF] = args
            self._tries[function] = trie
        return trie

    def warm_up(self) -> None:
        """Build every trie and run one query, so the first real command is not slower."""
        for fn in self.table.functions:
            self._trie(fn)
        self.parse("turn on the light")

    def _logits(self, ids: list[int]) -> list[float]:
        ptr = self.llm._ctx.get_logits_ith(-1)
        return [ptr[i] for i in ids]

    def _argmax(self, ids: list[int], counts: bool = True) -> int:
        """The model's choice among ``ids``; the gap to the runner-up is kept in
        ``self._margin`` (the smallest of the parse) where ``counts``: the function and
        device choices, not a number's digits (a number is checked against the words
        said instead, so a near tie between "2" and "3" does not make a parse unsure)."""
        scores = self._logits(ids)
        best = max(range(len(ids)), key=scores.__getitem__)
        if len(ids) > 1 and counts:
            second = max(s for i, s in enumerate(scores) if i != best)
            self._margin = min(self._margin, scores[best] - second)
        return ids[best]

    def parse(self, text: str, room: str | None = None) -> Parsed:
        """One utterance -> every validated call it asks for, or none and why.

        ``room`` is the speaker's room (a satellite's ``[site] room``): a device type
        said without a device or room ("turn on the light") means that room's.
        Never raises on input.
        """
        text = normalize(text)
        if not text:
            return NOTHING
        unknown = self.named.unknown_room(text)
        if unknown is not None:  # final: no other hearing is searched (hear.heard)
            return Parsed((), unknown, refused=True)
        query = self.encoder.query_ids(text)[:MAX_QUERY_TOKENS]
        table = self.table
        first_choices = [*self._callable, table.none_id]
        if table.later_id >= 0:
            first_choices.append(table.later_id)
        raw: list[tuple[str, dict[str, Any]]] = []
        most = min(table.max_calls, 1 + len(_MORE.findall(text)))  # calls it can hold
        with self._lock:
            self._margin = float("inf")
            self.llm.n_tokens = self.prefix_len
            self.llm.eval([*query, *self.encoder.suffix])
            choice = self._argmax(first_choices)
            if choice == table.none_id:
                return NOTHING
            if choice == table.later_id:
                return Parsed((), LATER_REASON, refused=True)
            while True:
                function = self._fn_by_id[choice]
                decoded = self._decode_args(function, choice)
                if decoded is None:
                    return Parsed((), self._range_reason(function, text), refused=True)
                args, pending = decoded
                raw.append((function, args))
                if len(raw) >= most:
                    break
                self.llm.eval(pending)
                choice = self._argmax([*self._callable, table.end_id])
                if choice == table.end_id:
                    break
            margin = self._margin
        parsed = self._resolve(raw, text, room)
        if not parsed.calls:
            return parsed
        devices = [str(c.arguments["device"]) for c in parsed.calls if "device" in c.arguments]
        contradiction = self.named.contradiction(raw, devices, text, room)
        if contradiction is not None:
            return Parsed((), contradiction, margin)
        if margin < self.sensitive_margin and any(self._sensitive(c) for c in parsed.calls):
            return Parsed((), "I'm not sure I heard that right, and I don't guess at doors:"
                              " please say it again", margin)
        if margin < self.min_margin:
            return Parsed((), "I'm not sure which device you meant, so I did nothing:"
                              " say it again with its full name", margin)
        return Parsed(parsed.calls, parsed.reason, margin)

    def _sensitive(self, call: Call) -> bool:
        """Doors: a lock, or a cover that is a garage door, door or gate."""
        return self.catalog.door_call(call.function, call.arguments.get("device"))

    def _decode_args(self, function: str, choice: int) -> tuple[Any, list[int]] | None:
        """Walk the function's trie from its functional token; None when a number said is
        outside the range. Returns the arguments and the tokens not yet evaluated."""
        node = self._trie(function)
        pending = [choice]
        while True:
            keys = [k for k in node if k != _LEAF]
            if not keys:
                return node[_LEAF], pending
            in_number = pending[-1] in self._numeric or any(k in self._numeric for k in keys)
            if len(keys) == 1 and _LEAF not in node and not in_number:
                pending.append(keys[0])
                node = node[keys[0]]
                continue
            self.llm.eval(pending)
            candidates = keys + ([self.table.end_id] if _LEAF in node else [])
            others = sorted(self._numeric - set(candidates)) if in_number else []
            tok = self._argmax([*candidates, *others], counts=not in_number)
            if tok not in candidates:
                return None  # a digit the range does not allow: out of range
            if tok == self.table.end_id:
                return node[_LEAF], []
            pending = [tok]
            node = node[tok]

    def _resolve(
        self, raw: list[tuple[str, dict[str, Any]]], text: str, room: str | None
    ) -> Parsed:
        """Validate every decoded call, check its numbers were said, expand its groups."""
        calls: list[Call] = []
        called = {str(args.get("device")) for _, args in raw}
        for function, args in raw:
            try:
                arguments = self.catalog.validate_call(function, args, groups=True)
            except ValueError as exc:
                return Parsed((), str(exc), refused=True)
            for arg in self.catalog.signature(function).args:
                if arg.kind not in ("int", "number"):
                    continue
                if not _said(arg, arguments[arg.name], text, several=len(raw) > 1):
                    # a number was said, and not this one: never bend it
                    return Parsed((), self._range_reason(function, text), refused=True)
                if (arg.min is not None and arg.min < 0
                        and not _direction_agrees(float(arguments[arg.name]), text)):
                    return Parsed((), "I wasn't sure which way to change it: nothing was done",
                                  refused=True)
            expanded, reason = expand(self.catalog, function, arguments, room)
            group = group_target(arguments.get("device"))
            if reason is not None and group is not None and group[0] == HERE_SCOPE:
                # "turn off the air conditioning": the model's "the speaker's room's" is
                # ambiguous with no room known, or empty in the room, but the words name
                # one device
                one = self.named.named_one(text, function, group[1])
                if one is not None and one not in called:  # not another command's device
                    expanded, reason = (Call(function, {**arguments, "device": one}),), None
            if reason is not None:
                return Parsed((), reason)
            calls.extend(c for c in expanded if c not in calls)
        return Parsed(tuple(calls))

    def _range_reason(self, function: str, text: str) -> str:
        """Why a value was refused, naming the number said and the range allowed."""
        said = spoken_numbers(text)
        for arg in self.catalog.signature(function).args:
            if arg.kind not in ("int", "number") or arg.min is None or arg.max is None:
                continue
            span = f"{format_value(arg.min)}..{format_value(arg.max)}"
            for value in said:
                v = abs(value) if arg.min < 0 else value
                if not arg.min <= v <= arg.max:
                    return f"{arg.name.replace('_', ' ')} {format_value(value)} is outside {span}"
            return f"{arg.name.replace('_', ' ')} must be in {span}: nothing was done"
        return "that value is not one this device takes: nothing was done"


def _said(arg: ArgSpec, value: float, text: str, several: bool = False) -> bool:
    """A decoded number is one the sentence says; a step is said without its sign ("down
    by 30" is -30), and may be its default size ("brighter" is +20) only where the
    sentence says no number ("turn the TV up by 1" is never +10), or, when it made
    several calls, where one of its commands says none ("turn the heat up and the
    lights to 50"). A clause that is not a command does not count: "it's too hot, turn
    the heat down by half a degree" is one call, and its default step was a wrong one."""
    if arg.default is not None and abs(abs(value) - arg.default) < 1e-9:
        if not spoken_numbers(text):
            return True
        parts = [p for p in _COMMAND_PARTS.split(text) if p.strip()]
        if several and any(not spoken_numbers(p) for p in parts):
            return True
    if arg.min is not None and arg.min < 0:
        return was_said(abs(value), text) or was_said(value, text)
    return was_said(value, text)


def load_parser(settings: Settings, catalog: Catalog | None = None) -> Parser:
    """The Parser the config asks for (the shipped demo-home model by default)."""
    from octohome.understand.modelfile import check_file, install_shipped

    catalog = catalog or Catalog.load(settings.catalog)
    table = None
    if settings.model.function_table is not None:
        table = FunctionTable.from_json(settings.model.function_table.read_text())
    path = settings.model.path
    if path is None:
        # Builds it when missing, rebuilds it when truncated or corrupt.
        path = install_shipped(progress=False)
    else:
        fault = check_file(path)
        if fault is not None:
            raise ModelError(
                f"{fault}; not loading it. Rebuild it ('octohome train' or"
                " 'octohome model build'), or set [model] path to a sound file"
            )
    return Parser(
        path, catalog, table=table, threads=settings.model.threads, n_ctx=settings.model.n_ctx,
        sensitive_margin=settings.model.sensitive_margin,
        min_margin=settings.model.min_margin,
    )


_UP_WORDS = re.compile(
    r"\b(up|raise|increase|brighter|brighten|warmer|hotter|louder|higher|boost)\b", re.I)
_DOWN_WORDS = re.compile(
    r"\b(down|lower|decrease|reduce|dim|dimmer|darker|cooler|colder|quieter|softer)\b", re.I)


def _direction_agrees(value: float, text: str) -> bool:
    """A signed step goes the way the sentence says, where it says only one way: "turn
    the heat down by 2" is never +2 (the size is checked by :func:`_said`, which reads
    numbers without their sign). A sentence with words of both ways, or of neither
    ("it's too dark"), is left to the model."""
    up, down = bool(_UP_WORDS.search(text)), bool(_DOWN_WORDS.search(text))
    if up == down:
        return True
    return (value > 0) == up


_END_MARKS = re.compile(r"[.!?]+$")
_SENTENCE_BREAK = re.compile(r"(?<=[^\W\d_])[.!?]+\s+")


def normalize(text: str) -> str:
    """The text in one form whoever wrote it: lower case, no closing full stop, a
    full stop between sentences said as the comma of "X, then Y".

    Whisper writes "Downstairs lights on." where a person types "downstairs lights on",
    and the model, taught both, did not always read them alike: the shipped model made
    the first a dimming of the lights (the four case files in Whisper's style: 2 wrong
    calls, none as typed or in this form). A decimal ("20.5") keeps its point.
    """
    text = " ".join(text.split()).lower()
    text = _SENTENCE_BREAK.sub(", ", text)
    return _END_MARKS.sub("", text).strip()


_COMMAND_PARTS = re.compile(r",|;|\band\b|\bthen\b|\balso\b", re.IGNORECASE)
"""Where one command of an utterance ends and the next begins (roughly: for the check
above, a part without a number is enough)."""
