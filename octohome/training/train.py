"""``octohome train``: catalog -> data -> LoRA fine-tune -> merged GGUF -> quantized.

Why it is fast enough for a 2-core CPU (the demo home in well under 45 min):
- the prompt is short (a few tokens of fixed prefix, the query, a suffix);
- logits are computed only at target positions and only over the "target
  vocabulary" (every token any valid call can contain, plus the functional
  tokens). At run time the decoder only ever compares those tokens, so a
  softmax restricted to them is exactly the decision the model must learn,
  and the 262k x 640 output head is never multiplied in full;
- LoRA adapters on the attention and MLP projections, plus the functional
  tokens' own embedding rows (initialised from the mean embedding of a short
  description of each function, which makes training converge).

The result is a small *delta* (LoRA matrices + functional-token rows +
metadata, a few MB) that ``octohome.understand.modelfile`` merges into the
registry-packaged base GGUF. The shipped demo-home model is such a delta.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from octohome.core.calls import Encoder, FunctionTable, candidate_args
from octohome.core.catalog import Catalog
from octohome.training.dataset import Example, build_dataset
from octohome.understand.modelfile import base_gguf_path

if TYPE_CHECKING:
    import torch

TARGET_MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
"""HF Gemma 3 module -> GGUF tensor name (``blk.<i>.<name>.weight``)."""


@dataclass
class TrainConfig:
    """Everything that decides the trained model (recorded in its metadata)."""

    seed: int = 0
    per_function: int = 200
    """Generated single-command positives per function (groups, several commands,
    refusals and non-commands are added on top: about 9,200 examples for the demo)."""

    negative_share: float = 0.2
    steps: int | None = None
    """Optimizer steps; None: one epoch, at least 900 (the demo home: about 1,200)."""

    batch_size: int = 8
    lr: float = 1e-3
    """LoRA learning rate (LoRA wants a higher rate than full fine-tuning's 5e-5)."""

    emb_lr: float = 3e-3
    rank: int = 16
    alpha: float = 32.0
    first_layer: int = 9
    """LoRA on layers first_layer..end of Gemma 3's 18; lower layers stay frozen and cost
    no backward pass: a step takes 0.58 s instead of 0.97 s on 2 idle cores, which is
    what fits the demo home in 15 minutes."""

    warmup: int = 30
    style: str = "octohome"
    start_from: str | None = None
    """A delta.npz (or run directory) to continue from: an incremental retrain after a
    device was added or renamed. Only the examples about changed devices, with as
    many others replayed, are trained on."""

    threads: int = 2
    """CPU threads (2: this machine's cores; a Pi 4/5 has 4). The same thread count
    gives the same model; another count sums floats in another order, so the model
    differs slightly (within a point of accuracy)."""
    device: str = "auto"


def load_base(path: Path) -> tuple[Any, Any]:
    """Tokenizer and fp32 model from the GGUF (transformers dequantizes it exactly)."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = _load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32, attn_implementation="sdpa"
    )
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.eval()
    return tok, model


def _load_tokenizer(path: Path) -> Any:
    """The base's tokenizer, kept converted beside the built models after the first time:
    converting it from the GGUF takes 16 s, reading it back 3 s (a fifth of an
    incremental retrain's fixed cost). Keyed by the base file's name and size."""
    from transformers import AutoTokenizer

    from octohome.understand.modelfile import default_model_dir

    kept = default_model_dir() / f"tokenizer-{path.stem}-{path.stat().st_size}"
    if (kept / "tokenizer.json").exists():
        try:
            return AutoTokenizer.from_pretrained(kept)
        except (OSError, ValueError):
            pass  # damaged: convert again
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_name(kept.name + ".tmp")
        tok.save_pretrained(tmp)
        if kept.exists():
            import shutil

            shutil.rmtree(kept)
        tmp.rename(kept)
    except OSError:
        pass  # a read-only cache costs time, not correctness
    return tok


def target_vocab(encoder: Encoder) -> list[int]:
    """Every token a valid call can contain (the decoder never looks at others)."""
    vocab: set[int] = set(encoder.table.all_token_ids)
    vocab.update(encoder.tokenize("-0123456789"))  # a value said out of range: "minus five"
    for function in encoder.catalog.function_names:
        for text, _ in candidate_args(encoder.catalog, function,
                                      group_text=encoder.table.group_text):
            vocab.update(encoder.tokenize(text))
    return sorted(vocab)


class LoRALinear:
    """y = W x + scale * B (A x), with W frozen. Kept tiny on purpose."""

    @staticmethod
    def wrap(linear: Any, rank: int, alpha: float, gen: Any) -> Any:
        import torch
        from torch import nn

        class _LoRA(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.base = linear
                fan_in = linear.in_features
                self.A = nn.Parameter(torch.randn(rank, fan_in, generator=gen) / math.sqrt(fan_in))
                self.B = nn.Parameter(torch.zeros(linear.out_features, rank))
                self.scale = alpha / rank

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale

        return _LoRA()


def _describe(function: str, description: str) -> str:
    return f"{function.replace('.', ' ').replace('_', ' ')}: {description}"


class Trainer:
    """Holds the model, the adapters and the functional-token rows."""

    def __init__(self, cfg: TrainConfig, catalog: Catalog, base: Path) -> None:
        import torch

        self.cfg = cfg
        self.catalog = catalog
        self.base = base
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.device = (
            ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
        )
        self.table = FunctionTable.for_catalog(catalog, cfg.style)
        self.tok, self.model = load_base(base)
        tok = self.tok

        def tokenize(text: str) -> list[int]:
            return list(tok(text, add_special_tokens=False).input_ids)

        self.encoder = Encoder(tokenize, self.table, catalog, int(tok.bos_token_id))
        self.model.requires_grad_(False)
        gen = torch.Generator().manual_seed(cfg.seed)
        self.lora: dict[str, Any] = {}
        layers = self.model.model.layers
        for i in range(cfg.first_layer, len(layers)):
            for hf_name, gguf_name in TARGET_MODULES.items():
                parent_name, attr = hf_name.split(".")
                parent = getattr(layers[i], parent_name)
                wrapped = LoRALinear.wrap(getattr(parent, attr), cfg.rank, cfg.alpha, gen)
                setattr(parent, attr, wrapped)
                self.lora[f"blk.{i}.{gguf_name}.weight"] = wrapped
        self.model.to(self.device)
        emb = self.model.model.embed_tokens
        self.embed_scale = float(getattr(emb, "embed_scale", 1.0))
        self.emb_weight = emb.weight  # frozen, tied with the output head
        self.fn_rows = torch.nn.Parameter(self._init_rows())
        if cfg.start_from:
            self._load_delta(delta_file(Path(cfg.start_from)))
        self.fn_lo = self.table.all_token_ids[0]
        self.vocab = target_vocab(self.encoder)
        self.vocab_index = {t: i for i, t in enumerate(self.vocab)}

    def _load_delta(self, path: Path) -> None:
        """Start from a trained delta: its adapters and functional-token rows."""
        import torch

        from octohome.understand.modelfile import load_delta

        arrays, table, _ = load_delta(path)
        if table.functions != self.table.functions or table.style != self.table.style:
            raise ValueError(
                f"{path} was trained for other functions: an incremental retrain keeps the"
                " functions; retrain from the base model (without --from)"
            )
        with torch.no_grad():
            for name, mod in self.lora.items():
                a, b = arrays.get(f"lora_a:{name}"), arrays.get(f"lora_b:{name}")
                if a is None or b is None or tuple(a.shape) != tuple(mod.A.shape):
                    raise ValueError(f"{path}: no adapter {name} of the same rank and layers")
                mod.A.copy_(torch.from_numpy(a.astype(np.float32)))
                mod.B.copy_(torch.from_numpy(b.astype(np.float32)) / mod.scale)
            self.fn_rows.copy_(torch.from_numpy(arrays["fn_rows"]))

    def _init_rows(self) -> torch.Tensor:
        """Mean embedding of each function's description (made convergence reliable)."""
        import torch

        texts = [_describe(f, self.catalog.functions[f].description) for f in self.table.functions]
        texts += ["not a command: chit chat, a question, or a device the home lacks", "end"]
        if self.table.later_id >= 0:
            texts.append("later: a request for another time or on a condition")
        rows = []
        for text in texts:
            ids = torch.tensor(self.encoder.tokenize(text))
            rows.append(self.emb_weight[ids].mean(0))
        return torch.stack(rows).clone()

    def batch_loss(self, batch: list[tuple[list[int], list[int]]]) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        seqs = [p + t for p, t in batch]
        width = max(len(s) for s in seqs)
        ids = torch.zeros((len(seqs), width), dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        rows, cols, labels = [], [], []
        for b, (p, t) in enumerate(batch):
            s = p + t
            ids[b, : len(s)] = torch.tensor(s)
            mask[b, : len(s)] = 1
            for j, tok in enumerate(t):
                rows.append(b)
                cols.append(len(p) + j - 1)
                labels.append(self.vocab_index[tok])
        ids, mask = ids.to(self.device), mask.to(self.device)
        n_fn = self.fn_rows.shape[0]
        is_fn = (ids >= self.fn_lo) & (ids < self.fn_lo + n_fn)
        x = F.embedding(ids, self.emb_weight)
        # Below first_layer nothing is trained: the functional tokens' rows learn from
        # the output head alone (they are tied), so no gradient runs through the
        # frozen lower layers (each one skipped saves 1/18 of the backward pass).
        rows_in = self.fn_rows.detach() if self.cfg.first_layer > 0 else self.fn_rows
        fn_x = rows_in[(ids - self.fn_lo).clamp(0, n_fn - 1)]
        x = torch.where(is_fn.unsqueeze(-1), fn_x, x) * self.embed_scale
        hidden = self.model.model(inputs_embeds=x, attention_mask=mask).last_hidden_state
        h = hidden[torch.tensor(rows), torch.tensor(cols)]
        vocab = torch.tensor(self.vocab, device=self.device)
        head = self.emb_weight[vocab]
        in_fn = (vocab >= self.fn_lo) & (vocab < self.fn_lo + n_fn)
        head = torch.where(
            in_fn.unsqueeze(-1), self.fn_rows[(vocab - self.fn_lo).clamp(0, n_fn - 1)], head
        )
        logits = h @ head.t()
        return F.cross_entropy(logits, torch.tensor(labels, device=self.device))

    def fit(self, examples: list[Example], progress: bool = True) -> dict[str, Any]:
        import torch
        from tqdm import tqdm

        cfg = self.cfg
        data = [
            (self.encoder.prompt(e.text), e.target(self.encoder))
            for e in examples
        ]
        extra = {t for _, target in data for t in target} - set(self.vocab)
        if extra:  # a value written as said, out of range ("minus five"): its tokens too
            self.vocab = sorted(set(self.vocab) | extra)
            self.vocab_index = {t: i for i, t in enumerate(self.vocab)}
        params = [p for m in self.lora.values() for p in (m.A, m.B)]
        opt = torch.optim.AdamW(
            [{"params": params, "lr": cfg.lr}, {"params": [self.fn_rows], "lr": cfg.emb_lr}],
            weight_decay=0.0,
        )
        base_lrs = [cfg.lr, cfg.emb_lr]
        rng = random.Random(cfg.seed)
        order: list[int] = []
        losses: list[float] = []
        self.model.train()
        started = time.monotonic()
        steps = cfg.steps or auto_steps(len(data), cfg.batch_size)
        bar = tqdm(range(steps), desc="training", unit="step", disable=not progress)
        for step in bar:
            if len(order) < cfg.batch_size:
                order.extend(_length_buckets(data, cfg.batch_size, rng))
            idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
            warm = min(1.0, (step + 1) / max(1, cfg.warmup))
            decay = 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
            for group, lr in zip(opt.param_groups, base_lrs, strict=True):
                group["lr"] = lr * warm * (0.05 + 0.95 * decay)
            loss = self.batch_loss([data[i] for i in idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([*params, self.fn_rows], 1.0)
            opt.step()
            losses.append(loss.item())
            if step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        self.model.eval()
        return {
            "seconds": round(time.monotonic() - started, 1),
            "final_loss": float(np.mean(losses[-20:])) if losses else None,
            "steps": steps,
            "examples": len(data),
        }

    def delta(self) -> dict[str, np.ndarray]:
        """LoRA matrices (fp16) and functional-token rows, keyed by GGUF tensor name."""
        out: dict[str, np.ndarray] = {}
        for name, mod in self.lora.items():
            out[f"lora_a:{name}"] = mod.A.detach().cpu().numpy().astype(np.float16)
            out[f"lora_b:{name}"] = (mod.B.detach().cpu() * mod.scale).numpy().astype(np.float16)
        out["fn_rows"] = self.fn_rows.detach().cpu().numpy().astype(np.float32)
        return out


def auto_steps(examples: int, batch_size: int) -> int:
    """Steps for one epoch, at least 900: a bigger home has more examples (a fixed
    number per device), so it trains longer rather than seeing each device less.
    (one epoch keeps the demo home within 15 minutes on 2 cores; with LoRA on every layer,
    0.8 of an epoch had lost 2 of the 46 sample commands and 1.25 took 25 minutes.)"""
    return max(900, round(1.0 * examples / batch_size))


def delta_file(path: Path) -> Path:
    """A run directory or a delta file -> the delta file."""
    return path / "delta.npz" if path.is_dir() else path


def device_snapshot(catalog: Catalog) -> dict[str, list[Any]]:
    """What the model learned of each device (kept in the training record, so an
    incremental retrain knows which devices changed)."""
    return {
        d.id: [d.name, list(d.aliases), d.room, d.type, d.kind] for d in catalog.devices
    }


def changed_devices(catalog: Catalog, record: dict[str, Any]) -> set[str]:
    """Devices added or changed since the model in ``record`` was trained (all of them
    when the record predates snapshots)."""
    old = record.get("devices")
    now = device_snapshot(catalog)
    if not isinstance(old, dict):
        return set(now)
    return {i for i, v in now.items() if old.get(i) != v}


INCREMENTAL_STEPS = 120
"""Steps of an incremental retrain (``--from``): a few minutes on 2 cores."""

INCREMENTAL_LR = 0.3
"""The learning rates of an incremental retrain, as a share of a full one's."""


def incremental_examples(
    examples: list[Example], catalog: Catalog, changed: set[str], seed: int, at_least: int = 800
) -> list[Example]:
    """The examples about changed devices, plus as many others replayed (so what the
    model knew stays), at least ``at_least`` in all."""
    names = {p for d in catalog.devices if d.id in changed
             for p in (d.name.lower(), *(a.lower() for a in d.aliases))}
    about = [e for e in examples
             if any(a.get("device") in changed for _, a in e.calls)
             or any(n in e.text.lower() for n in names)]
    taken = {id(e) for e in about}
    rest = [e for e in examples if id(e) not in taken]
    rng = random.Random(seed)
    replay = rng.sample(rest, min(len(rest), max(len(about), at_least - len(about))))
    out = about + replay
    rng.shuffle(out)
    return out


def _length_buckets(
    data: list[tuple[list[int], list[int]]], batch_size: int, rng: random.Random
) -> list[int]:
    """One epoch's order in which each batch holds examples of similar length.

    A batch is padded to its longest sequence, and a three-command example is
    twice as long as a single one: mixing them made every step pay for the
    longest. Shuffled, cut into windows of 32 batches, sorted by length inside
    a window, and the batches shuffled again, so the order stays random.
    """
    idx = list(range(len(data)))
    rng.shuffle(idx)
    window = batch_size * 32
    batches: list[list[int]] = []
    for w in range(0, len(idx), window):
        chunk = sorted(idx[w : w + window], key=lambda i: len(data[i][0]) + len(data[i][1]))
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return [i for batch in batches for i in batch]


def save_delta(
    path: Path, arrays: dict[str, np.ndarray], table: FunctionTable, record: dict[str, Any]
) -> None:
    """One .npz: arrays plus JSON metadata (function table, training record)."""
    meta = {"table": table.to_json(), "training": record}
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **payload)  # type: ignore[arg-type]


def train(
    catalog: Catalog,
    cfg: TrainConfig,
    out_dir: Path,
    *,
    quant: str = "q8_0",
    progress: bool = True,
    examples: list[Example] | None = None,
    extra: list[Example] | None = None,
) -> Path:
    """The whole pipeline; returns the quantized GGUF path. Writes delta.npz beside it.

    ``extra``: examples beside the generated ones (``--extra-data``: commands as the
    recognizer wrote them). From the base they join the generated set; continuing a
    run (``start_from``) they are trained on with as many generated ones replayed.
    """
    from octohome.understand.modelfile import build_gguf

    t0 = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    if examples is None:
        examples = build_dataset(catalog, cfg.seed, cfg.per_function, cfg.negative_share)
    changed: set[str] | None = None
    if cfg.start_from:
        from octohome.understand.modelfile import load_delta

        _, _, old_record = load_delta(delta_file(Path(cfg.start_from)))
        # the adapters continued are the ones trained: same layers, rank and scale
        # (a model trained with LoRA on every layer keeps them all)
        shape = {k: old_record.get("config", {}).get(k, v)
                 for k, v in (("first_layer", 0), ("rank", cfg.rank), ("alpha", cfg.alpha))}
        # a gentler rate: the adapters are trained already, and the full rate moved
        # them off old commands (44/46 sample commands, two wrong calls, at 1e-3)
        cfg = replace(cfg, **shape, lr=cfg.lr * INCREMENTAL_LR, emb_lr=cfg.emb_lr * INCREMENTAL_LR,
                      warmup=min(cfg.warmup, 10))
        changed = changed_devices(catalog, old_record)
        generated = examples
        examples = incremental_examples(examples, catalog, changed, cfg.seed)
        if extra:
            # as many generated examples again as there are extra ones, so what the
            # model knew stays
            rng = random.Random(cfg.seed + 1)
            taken = {id(e) for e in examples}
            rest = [e for e in generated if id(e) not in taken]
            examples += list(extra) + rng.sample(rest, min(len(rest), len(extra)))
            rng.shuffle(examples)
    elif extra:
        examples = [*examples, *extra]
    if cfg.start_from:
        _say(progress, f"continuing from {cfg.start_from}: {len(changed or ())} device(s) new or"
                       f" changed ({', '.join(sorted(changed or ())[:6])}"
                       f"{', ...' if len(changed or ()) > 6 else ''})"
                       + (f", {len(extra)} extra examples" if extra else ""))
    base = base_gguf_path()
    _say(progress, f"{len(examples)} training examples; loading base model {base.name}")
    trainer = Trainer(cfg, catalog, base)
    _say(progress, f"loaded in {time.monotonic() - t0:.0f} s; training on {trainer.device}")
    stats = trainer.fit(examples, progress)
    record = {
        "config": asdict(cfg),
        "examples": len(examples),
        "extra_examples": len(extra or ()),
        "train_seconds": stats["seconds"],
        "steps": stats["steps"],
        "final_loss": stats["final_loss"],
        "base": base.name,
        "catalog_fingerprint": catalog.fingerprint,
        "devices": device_snapshot(catalog),
        "command": "octohome train "
        + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in asdict(cfg).items() if k in ("seed", "steps")
        ),
    }
    delta_path = out_dir / "delta.npz"
    save_delta(delta_path, trainer.delta(), trainer.table, record)
    del trainer
    gguf_path = out_dir / f"octohome-{cfg.style}-{quant}.gguf"
    build_gguf(base, delta_path, gguf_path, quant=quant, progress=progress)
    record["total_seconds"] = round(time.monotonic() - t0, 1)
    (out_dir / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    _say(progress, f"done in {record['total_seconds']:.0f} s: {gguf_path}")
    return gguf_path


def _say(enabled: bool, text: str) -> None:
    if enabled:
        print(f"[octohome train] {text}", flush=True)
