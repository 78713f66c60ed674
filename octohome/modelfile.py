"""Model files: merge a trained delta into the base GGUF and quantize it.

The shipped demo-home model is not a 300 MB file in git: it is ``models/
demo-home.npz`` (LoRA matrices, functional-token rows, function table and
training record, a few MB) that this module merges into the registry-packaged
Gemma 3 270M GGUF. Merging costs under a minute once at setup and makes
inference as fast as the plain base (no adapter arithmetic per token).

Steps: copy the base's metadata, rename the reserved ``<unusedN>`` tokens to
the functional tokens (type USER_DEFINED, score 0, so llama.cpp detokenizes
them and stop strings work), add the function table and catalog fingerprint,
write the merged weights as F32 and every untouched tensor byte-for-byte,
then quantize with llama.cpp's own quantizer.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from octohome.calls import FINGERPRINT_KEY, TABLE_KEY, TRAINING_KEY, FunctionTable

SHIPPED_DELTA = Path(__file__).resolve().parent.parent / "models" / "demo-home.npz"
"""Trained delta of the demo home, tracked in git."""

USER_DEFINED = 4


def default_model_dir() -> Path:
    """Where built GGUFs live: $OCTOHOME_MODEL_DIR, else ~/.cache/octohome."""
    import os

    env = os.environ.get("OCTOHOME_MODEL_DIR") or os.environ.get("STATE_DIRECTORY")
    return Path(env) if env else Path.home() / ".cache" / "octohome"


def shipped_model_path() -> Path:
    return default_model_dir() / "demo-home-q8_0.gguf"


def build_gguf(
    base: Path, delta_path: Path, out: Path, *, quant: str = "q8_0", progress: bool = False
) -> Path:
    """Merge ``delta_path`` into ``base`` and write the quantized GGUF to ``out``."""
    import gguf

    from octohome.train import load_delta

    arrays, table, record = load_delta(delta_path)
    reader = gguf.GGUFReader(str(base))
    arch = str(reader.fields["general.architecture"].contents())
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        f32_path = Path(tmp) / "merged-f32.gguf"
        writer = gguf.GGUFWriter(str(f32_path), arch)
        for key, field in reader.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture":
                continue
            value = field.contents()
            main = field.types[0]
            sub = field.types[-1] if main == gguf.GGUFValueType.ARRAY else None
            if key == "tokenizer.ggml.tokens":
                value = list(value)
                for tid, text in _renames(table).items():
                    value[tid] = text
            elif key == "tokenizer.ggml.token_type":
                value = list(value)
                for tid in table.all_token_ids:
                    value[tid] = USER_DEFINED
            elif key == "tokenizer.ggml.scores":
                value = list(value)
                for tid in table.all_token_ids:
                    value[tid] = 0.0
            elif key == "general.file_type":
                value = 0  # ALL_F32; the quantizer sets the final type
            writer.add_key_value(key, value, main, sub_type=sub)
        writer.add_string(TABLE_KEY, table.to_json())
        writer.add_string(FINGERPRINT_KEY, table.fingerprint)
        writer.add_string(TRAINING_KEY, json.dumps(record, sort_keys=True))
        for tensor in reader.tensors:
            name = tensor.name
            a = arrays.get(f"lora_a:{name}")
            if a is not None or name == "token_embd.weight":
                w = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
                if a is not None:
                    b = arrays[f"lora_b:{name}"].astype(np.float32)
                    w = w + b @ a.astype(np.float32)
                else:
                    rows = arrays["fn_rows"]
                    for k, tid in enumerate(table.all_token_ids):
                        w[tid] = rows[k]
                writer.add_tensor(name, np.ascontiguousarray(w, dtype=np.float32))
            else:
                writer.add_tensor(
                    name, tensor.data, raw_shape=_np_shape(tensor), raw_dtype=tensor.tensor_type
                )
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=progress)
        writer.close()
        quantize(f32_path, out, quant)
    return out


def _np_shape(tensor: Any) -> list[int]:
    return [int(x) for x in reversed(tensor.shape.tolist())]


def _renames(table: FunctionTable) -> dict[int, str]:
    names = dict(zip(table.token_ids, table.tokens, strict=True))
    names[table.none_id] = table.none_token
    names[table.end_id] = table.end_token
    return names


def quantize(src: Path, dst: Path, quant: str) -> None:
    """llama.cpp's own quantizer, through llama-cpp-python's C API."""
    import llama_cpp

    ftypes = {
        "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
        "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
        "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    }
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftypes[quant]
    params.nthread = 2
    params.allow_requantize = True
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize failed ({rc}) for {src}")


def read_metadata(path: Path) -> dict[str, str]:
    """The octohome keys of a GGUF (empty for a foreign model)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    out: dict[str, str] = {}
    for key in (TABLE_KEY, FINGERPRINT_KEY, TRAINING_KEY):
        if key in reader.fields:
            out[key] = str(reader.fields[key].contents())
    return out


def install_shipped(force: bool = False, progress: bool = True) -> Path:
    """Build the demo-home model from the base package and the tracked delta (once)."""
    from octohome.train import base_gguf_path

    out = shipped_model_path()
    stamp = out.with_suffix(".source")
    digest = _digest(SHIPPED_DELTA)
    if out.exists() and not force and stamp.exists() and stamp.read_text() == digest:
        return out
    if not SHIPPED_DELTA.exists():
        raise FileNotFoundError(f"{SHIPPED_DELTA}: the shipped model delta is missing")
    if progress:
        print(f"building {out} from {SHIPPED_DELTA.name} (about a minute)", flush=True)
    build_gguf(base_gguf_path(), SHIPPED_DELTA, out, quant="q8_0", progress=progress)
    stamp.write_text(digest)
    return out


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def add_cli(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="model_cmd", metavar="ACTION", required=True)
    inst = sub.add_parser("install", help="build the shipped demo-home model (idempotent)")
    inst.add_argument("--force", action="store_true", help="rebuild even if up to date")
    info = sub.add_parser("info", help="print a GGUF's function table and fingerprint")
    info.add_argument("path", type=Path, nargs="?", help="GGUF file (default: shipped model)")
    build = sub.add_parser("build", help="merge a delta .npz into the base GGUF")
    build.add_argument("delta", type=Path)
    build.add_argument("out", type=Path)
    build.add_argument("--quant", choices=["q8_0", "q4_k_m", "f16"], default="q8_0")


def run_cli(args: argparse.Namespace) -> int:
    if args.model_cmd == "install":
        print(install_shipped(force=args.force))
        return 0
    if args.model_cmd == "build":
        from octohome.train import base_gguf_path

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
