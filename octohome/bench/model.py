"""``octohome bench model``: latency, memory and context size, measured (never asserted
in tests).

It runs a fixed set of single-command demo-home utterances and a set of
two-command utterances through the parser (and, with ``--baseline``, the same
single commands through an earlier model, interleaved in the same run so both
see the same machine), and
then drives the same model the conventional way -- every function described
in the prompt, the call generated as text -- so the two can be compared in
one run: prompt tokens per call and latency.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from octohome.bench.stats import percentile
from octohome.core.catalog import Catalog, arg_values

if TYPE_CHECKING:
    from octohome.understand.parser import Parser

FIXED_SET = [
    "turn on the kitchen lights",
    "switch off the porch light",
    "set the floor lamp to 40 percent",
    "dim the bedroom light to twenty",
    "make the hall light blue",
    "turn on the coffee machine",
    "christmas tree off",
    "open the garage door",
    "close the bedroom blinds",
    "living room blinds halfway",
    "set the heating to 21",
    "switch the thermostat to cool",
    "lock the front door",
    "unlock the back door",
    "desk fan on",
    "bedroom fan on high",
    "pause the TV",
    "play the kitchen radio",
    "set the TV volume to 30",
    "movie night",
    "what's the weather like",
    "turn on the sauna",
    "tell me a joke",
    "good night",
]


TWO_COMMANDS = [
    "turn on the kitchen lights and lock the front door",
    "set the heating to 21 and close the bedroom blinds",
    "pause the TV and turn off the floor lamp",
    "open the garage door, then switch on the porch light",
    "turn off the christmas tree and also the coffee machine",
    "lock the back door and turn off the hall light",
    "set the office light to 40 percent and turn on the desk fan",
    "unlock the front door and turn on the hallway light",
]
"""Two commands each: their p50 is compared with the single commands' p50."""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def conventional_prompt(catalog: Catalog, query: str) -> str:
    """A tool-calling prompt: every function with its arguments, then the query."""
    lines = ["You control a smart home. Call exactly one of these functions, or none:", ""]
    for name in catalog.function_names:
        sig = catalog.signature(name)
        fn = catalog.functions[name]
        params = []
        if sig.device_ids:
            params.append(f"device: one of {', '.join(sig.device_ids)}")
        for arg in fn.args:
            if arg.kind in ("enum", "scene"):
                params.append(f"{arg.name}: one of {', '.join(arg_values(arg, sig.scene_ids))}")
            else:
                params.append(f"{arg.name}: {arg.kind} from {arg.min:g} to {arg.max:g}")
        lines.append(f"- {name}({'; '.join(params)}): {fn.description}")
    lines += [
        "",
        'Answer as JSON {"function": ..., "arguments": {...}}.',
        "",
        f"Query: {query}",
        "Response:",
    ]
    return "\n".join(lines)


def bench_model(
    args: argparse.Namespace, open_parser: Callable[[argparse.Namespace], Parser]
) -> dict[str, Any]:
    """Time the parser that ``open_parser(args)`` loads (``octohome.cli.parse.open_parser``:
    the model options over the config file), then the conventional way unless
    ``args.conventional_n`` is 0."""
    t0 = time.perf_counter()
    parser = open_parser(args)
    load_s = time.perf_counter() - t0
    parser.warm_up()
    baseline = None
    if getattr(args, "baseline", None) is not None:
        from octohome.understand.parser import Parser

        base_catalog = Catalog.load(args.baseline_catalog) if args.baseline_catalog else None
        baseline = Parser(args.baseline, base_catalog or parser.catalog, threads=args.threads)
        baseline.warm_up()
    lat: list[float] = []
    base_lat: list[float] = []
    two_lat: list[float] = []
    one_call_lat: list[float] = []  # the single commands that made exactly one call
    per_call_tokens: list[int] = []
    for _ in range(args.rounds):
        for text in FIXED_SET:
            t = time.perf_counter()
            made = parser.parse(text)
            lat.append((time.perf_counter() - t) * 1000)
            if len(made.calls) == 1:
                one_call_lat.append(lat[-1])
            per_call_tokens.append(len(parser.encoder.query_ids(text)) + len(parser.encoder.suffix))
            if baseline is not None:
                t = time.perf_counter()
                baseline.parse(text)
                base_lat.append((time.perf_counter() - t) * 1000)
        for text in TWO_COMMANDS:
            t = time.perf_counter()
            parser.parse(text)
            two_lat.append((time.perf_counter() - t) * 1000)
    prompt_tokens = statistics.mean(len(parser.encoder.prompt(t)) for t in FIXED_SET)
    rss_parser = _rss_mb()
    result: dict[str, Any] = {
        "model": str(parser.path),
        "load_seconds": round(load_s, 2),
        "utterances": len(lat),
        "parse_ms_p50": round(percentile(lat, 50), 1),
        "parse_ms_p95": round(percentile(lat, 95), 1),
        "prompt_tokens_per_call": round(prompt_tokens, 1),
        "tokens_evaluated_per_call": round(statistics.mean(per_call_tokens), 1),
        "peak_rss_mb": round(rss_parser, 0),
        "two_commands_ms_p50": round(percentile(two_lat, 50), 1),
        "two_commands_ms_p95": round(percentile(two_lat, 95), 1),
        "two_commands_over_single_p50": round(percentile(two_lat, 50) / percentile(lat, 50), 2),
        # a non-command makes no call and costs one model step: "a single call" is these
        "one_call_ms_p50": round(percentile(one_call_lat, 50), 1),
        "two_commands_over_one_call_p50": round(
            percentile(two_lat, 50) / percentile(one_call_lat, 50), 2),
    }
    if baseline is not None:
        result["baseline_model"] = str(baseline.path)
        result["baseline_parse_ms_p50"] = round(percentile(base_lat, 50), 1)
        result["baseline_parse_ms_p95"] = round(percentile(base_lat, 95), 1)
        result["single_over_baseline_p50"] = round(
            percentile(lat, 50) / percentile(base_lat, 50), 2)
    if args.conventional_n <= 0:
        return result
    # The conventional way: same model file and threads, a context big enough
    # for the function descriptions (they do not fit the parser's 512 tokens).
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(parser.path), n_ctx=2048, n_batch=512, n_threads=args.threads,
        n_threads_batch=args.threads, verbose=False,
    )
    conv_lat: list[float] = []
    conv_tokens: list[int] = []
    for text in FIXED_SET[: args.conventional_n]:
        ids = llm.tokenize(conventional_prompt(parser.catalog, text).encode(), add_bos=True)
        conv_tokens.append(len(ids))
        llm.reset()
        t = time.perf_counter()
        llm.eval(ids)
        for _ in range(args.gen_tokens):  # a JSON call is ~25 tokens
            tok = llm.sample(temp=0.0)
            llm.eval([tok])
        conv_lat.append((time.perf_counter() - t) * 1000)
    result["conventional_prompt_tokens"] = round(statistics.mean(conv_tokens), 1)
    result["conventional_ms_p50"] = round(percentile(conv_lat, 50), 1)
    result["conventional_generated_tokens"] = args.gen_tokens
    result["context_ratio"] = round(
        result["prompt_tokens_per_call"] / result["conventional_prompt_tokens"], 3
    )
    result["latency_ratio"] = round(result["parse_ms_p50"] / result["conventional_ms_p50"], 3)
    return result
