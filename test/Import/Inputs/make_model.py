#!/usr/bin/env python3
"""Writes tiny deterministic Llama checkpoints for the matquant-import tests.

  make_model.py llama2c OUT.bin [--unshared] [--variant V]
  make_model.py safetensors OUT.safetensors --config OUT.json
                [--dtype F32|F16|BF16] [--untied] [--hf-config] [--variant V]

The model: dim 32, hidden 48, 2 layers, 4 heads, 2 kv heads (head size 8),
vocab 64, seq_len 64. Every weight is a multiple of 1/256 with at most 7
significant bits, so F32, F16 and BF16 files hold exactly the same model. The
safetensors q/k projections are permuted the way Hugging Face's
convert_llama_weights_to_hf.py does, so the rotate_half reading of the
safetensors file computes the same function as the interleaved reading of
the llama2.c file.

llama2.c layout (shared classifier): header [0, 28), tok_embeddings 28,
attention_norm 8220 (+128 per layer), wq 8476 (+4096), wk 16668 (+2048),
wv 20764 (+2048), wo 24860 (+4096), ffn_norm 33052 (+128), w1 33308 (+6144),
w2 45596 (+6144), w3 57884 (+6144), norm 70172, freq_cis 70300; 72348 bytes.
Unshared: output at 72348; 80540 bytes.

Malformed variants (llama2c): magic, zero-dim, absurd-dim, heads, kv-heads,
odd-head, short-header, truncated, nan, inf. (safetensors): short,
header-len, json, not-object, dtype, int-dtype, offsets, size, truncated,
missing, shape, nan, bias, and for the config: config-missing-key,
config-json, config-rope.
"""

import argparse
import json
import random
import struct
import sys

DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ_LEN = 32, 48, 2, 4, 2, 64, 64
HEAD_SIZE = DIM // HEADS
KV_DIM = HEAD_SIZE * KV_HEADS


def make_weights(unshared):
    """Returns {canonical name: (shape, flat list of floats)}."""
    rng = random.Random(20240229)

    def linear(rows, cols):
        return [rng.randint(-64, 64) / 128.0 for _ in range(rows * cols)]

    def norm(n):
        return [1.0 + rng.randint(-32, 32) / 128.0 for _ in range(n)]

    w = {"tok_embeddings": ((VOCAB, DIM),
                            [rng.randint(-64, 64) / 256.0 for _ in range(VOCAB * DIM)])}
    for l in range(LAYERS):
        p = "layers.%d." % l
        w[p + "attention_norm"] = ((DIM,), norm(DIM))
        w[p + "attention.wq"] = ((DIM, DIM), linear(DIM, DIM))
        w[p + "attention.wk"] = ((KV_DIM, DIM), linear(KV_DIM, DIM))
        w[p + "attention.wv"] = ((KV_DIM, DIM), linear(KV_DIM, DIM))
        w[p + "attention.wo"] = ((DIM, DIM), linear(DIM, DIM))
        w[p + "ffn_norm"] = ((DIM,), norm(DIM))
        w[p + "feed_forward.w1"] = ((HIDDEN, DIM), linear(HIDDEN, DIM))
        w[p + "feed_forward.w2"] = ((DIM, HIDDEN), linear(DIM, HIDDEN))
        w[p + "feed_forward.w3"] = ((HIDDEN, DIM), linear(HIDDEN, DIM))
    w["norm"] = ((DIM,), norm(DIM))
    if unshared:
        w["output"] = ((VOCAB, DIM), linear(VOCAB, DIM))
    return w


def f32s(values):
    return struct.pack("<%df" % len(values), *values)


# --------------------------------------------------------------------------
# llama2.c
# --------------------------------------------------------------------------

def write_llama2c(path, unshared, variant):
    w = make_weights(unshared)
    header = [DIM, HIDDEN, LAYERS, HEADS, KV_HEADS,
              -VOCAB if unshared else VOCAB, SEQ_LEN]
    if variant == "zero-dim":
        header[0] = 0
    elif variant == "absurd-dim":
        header[1] = 1 << 30
    elif variant == "heads":
        header[3] = 5
    elif variant == "kv-heads":
        header[4] = 3
    elif variant == "odd-head":
        header[0], header[3], header[4] = 36, 12, 4  # head size 3
    if variant == "nan":
        w["layers.1.feed_forward.w1"][1][17] = float("nan")
    elif variant == "inf":
        w["layers.0.ffn_norm"][1][3] = float("-inf")

    out = bytearray(struct.pack("<7i", *header))
    if variant == "magic":
        out = bytearray(struct.pack("<Ii", 0x616B3432, 1) + bytes(20))
    stacks = ["attention_norm", "attention.wq", "attention.wk", "attention.wv",
              "attention.wo", "ffn_norm", "feed_forward.w1", "feed_forward.w2",
              "feed_forward.w3"]
    out += f32s(w["tok_embeddings"][1])
    for s in stacks:
        for l in range(LAYERS):
            out += f32s(w["layers.%d.%s" % (l, s)][1])
    out += f32s(w["norm"][1])
    # Legacy freq_cis_real and freq_cis_imag (unused by run.c).
    out += bytes(2 * SEQ_LEN * (HEAD_SIZE // 2) * 4)
    if unshared:
        out += f32s(w["output"][1])
    if variant == "truncated":
        out = out[:51740 + 1000]  # inside layers.1.feed_forward.w2
    elif variant == "short-header":
        out = out[:10]
    with open(path, "wb") as f:
        f.write(out)


# --------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------

HF_NAMES = {
    "attention_norm": "input_layernorm",
    "attention.wq": "self_attn.q_proj",
    "attention.wk": "self_attn.k_proj",
    "attention.wv": "self_attn.v_proj",
    "attention.wo": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "feed_forward.w1": "mlp.gate_proj",
    "feed_forward.w2": "mlp.down_proj",
    "feed_forward.w3": "mlp.up_proj",
}


def hf_name(name):
    if name == "tok_embeddings":
        return "model.embed_tokens.weight"
    if name == "norm":
        return "model.norm.weight"
    if name == "output":
        return "lm_head.weight"
    _, l, rest = name.split(".", 2)
    return "model.layers.%s.%s.weight" % (l, HF_NAMES[rest])


def permute_rows(values, n_heads, rows, cols):
    """HF's permute(): row h*hs + 2i + j moves to h*hs + j*hs/2 + i."""
    hs = rows // n_heads
    out = [0.0] * (rows * cols)
    for h in range(n_heads):
        for i in range(hs // 2):
            for j in range(2):
                src = h * hs + 2 * i + j
                dst = h * hs + j * (hs // 2) + i
                out[dst * cols:(dst + 1) * cols] = values[src * cols:(src + 1) * cols]
    return out


def f16_bits(v):
    return struct.unpack("<H", struct.pack("<e", v))[0]


def bf16_bits(v):
    bits = struct.unpack("<I", struct.pack("<f", v))[0]
    if bits & 0xFFFF:
        raise ValueError("%r is not exact in bf16" % v)
    return bits >> 16


def encode(values, dtype):
    if dtype == "F32":
        return f32s(values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":
        return struct.pack("<%dH" % len(values), *[bf16_bits(v) for v in values])
    raise ValueError(dtype)


def write_config(path, hf_keys, variant):
    if hf_keys:
        cfg = {"architectures": ["LlamaForCausalLM"], "hidden_size": DIM,
               "intermediate_size": HIDDEN, "num_hidden_layers": LAYERS,
               "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
               "vocab_size": VOCAB, "max_position_embeddings": SEQ_LEN,
               "rms_norm_eps": 1e-5, "rope_theta": 10000.0}
    else:
        cfg = {"dim": DIM, "hidden_dim": HIDDEN, "n_layers": LAYERS,
               "n_heads": HEADS, "n_kv_heads": KV_HEADS, "vocab_size": VOCAB,
               "seq_len": SEQ_LEN, "norm_eps": 1e-5}
    text = json.dumps(cfg, indent=2)
    if variant == "config-missing-key":
        del cfg["hidden_size" if hf_keys else "hidden_dim"]
        text = json.dumps(cfg, indent=2)
    elif variant == "config-json":
        text = text.replace(",", "", 1)
    elif variant == "config-rope":
        cfg["rope"] = "sideways"
        text = json.dumps(cfg, indent=2)
    with open(path, "w") as f:
        f.write(text + "\n")


def write_safetensors(path, config_path, dtype, untied, hf_keys, variant):
    w = make_weights(untied)
    tensors = {}
    for name, (shape, values) in w.items():
        if name.endswith("attention.wq"):
            values = permute_rows(values, HEADS, DIM, DIM)
        elif name.endswith("attention.wk"):
            values = permute_rows(values, KV_HEADS, KV_DIM, DIM)
        tensors[hf_name(name)] = [dtype, list(shape), values]
    if variant == "nan":
        tensors["model.layers.1.mlp.gate_proj.weight"][2][17] = float("nan")
    elif variant == "missing":
        del tensors["model.layers.1.mlp.up_proj.weight"]
    elif variant == "shape":
        # A consistent entry whose shape disagrees with the config.
        t = tensors["model.layers.0.self_attn.k_proj.weight"]
        t[1] = [DIM, DIM]
        t[2] = t[2] + t[2]
    elif variant == "bias":
        tensors["model.layers.0.self_attn.q_proj.bias"] = [dtype, [DIM], [0.0] * DIM]
    elif variant == "int-dtype":
        t = tensors["model.norm.weight"]
        t[0] = "I32"

    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dt, shape, values = tensors[name]
        blob = encode(values, "F32" if dt == "I32" else dt)
        header[name] = {"dtype": dt, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if variant == "dtype":
        header["model.norm.weight"]["dtype"] = "F17"
    elif variant == "offsets":
        # Shift one entry past the end of the data section.
        e = header["model.layers.0.mlp.down_proj.weight"]
        e["data_offsets"] = [b + offset for b in e["data_offsets"]]
    elif variant == "size":
        e = header["model.norm.weight"]
        e["data_offsets"] = [e["data_offsets"][0], e["data_offsets"][1] - 4]

    text = json.dumps(header, separators=(",", ":"))
    if variant == "json":
        text = text[:-1] + ",}"
    elif variant == "not-object":
        text = "[1, 2, 3]"
    text += " " * (-len(text) % 8)
    raw = text.encode()
    length = len(raw)
    if variant == "header-len":
        length = 1 << 40
    out = struct.pack("<Q", length) + raw + b"".join(blobs)
    if variant == "truncated":
        out = out[:len(out) - 100]
    elif variant == "short":
        out = out[:5]
    with open(path, "wb") as f:
        f.write(out)
    if config_path:
        write_config(config_path, hf_keys, variant)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("format", choices=["llama2c", "safetensors"])
    ap.add_argument("out")
    ap.add_argument("--unshared", action="store_true",
                    help="llama2c: store a separate classifier (negative vocab_size)")
    ap.add_argument("--untied", action="store_true",
                    help="safetensors: write lm_head.weight")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    ap.add_argument("--config", help="safetensors: where to write the JSON config")
    ap.add_argument("--hf-config", action="store_true",
                    help="write the config with Hugging Face key names")
    ap.add_argument("--variant", default="ok")
    ap.add_argument("--wide", action="store_true",
                    help="dim 128, hidden 96, 1 layer, 2 heads, 1 kv head "
                         "(head size 64), vocab 64, seq_len 256: attention "
                         "long and wide enough to run in vector loops")
    args = ap.parse_args()
    if args.wide:
        global DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ_LEN
        global HEAD_SIZE, KV_DIM
        DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ_LEN = (
            128, 96, 1, 2, 1, 64, 256)
        HEAD_SIZE = DIM // HEADS
        KV_DIM = HEAD_SIZE * KV_HEADS
    if args.format == "llama2c":
        write_llama2c(args.out, args.unshared, args.variant)
    else:
        write_safetensors(args.out, args.config, args.dtype, args.untied,
                          args.hf_config, args.variant)


if __name__ == "__main__":
    sys.exit(main())
