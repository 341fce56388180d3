#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes a deeper AST from a trained one by stacking its layers (progressive stacking).

    tools/grow_backbone.py SOURCE_DIR OUT_DIR --layers N

SOURCE_DIR is a Hugging Face-layout AST checkpoint (config.json, model.safetensors) with L
layers; OUT_DIR gets the same embeddings and N layers, layer i a copy of source layer i mod L
(the whole stack repeated on top of itself, as in Gong et al., "Efficient Training of BERT by
Progressively Stacking", ICML 2019), the final LayerNorm, and no classifier: a bare backbone
(`ASTModel`) that `astpeft train` gives a fresh head. Training the grown model starts from what
the source learned instead of from random weights; tools/make_backbone.sh uses it to start the
bundled backbone's pretraining from the previous, shallower bundled backbone.

Tensors are copied byte for byte (any dtype); python3 standard library only. Files are written
atomically (a temporary file, then a rename).
"""
import argparse
import json
import os
import re
import shutil
import struct
import sys

LAYER = re.compile(r"^(audio_spectrogram_transformer\.encoder\.layer\.)(\d+)(\..*)$")


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    return {name: (info["dtype"], info["shape"],
                   data[info["data_offsets"][0]:info["data_offsets"][1]])
            for name, info in header.items()}


def write_safetensors(path, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, raw in tensors.values():
            f.write(raw)
    os.replace(tmp, path)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, required=True)
    args = parser.parse_args()
    try:
        with open(os.path.join(args.source, "config.json")) as f:
            config = json.load(f)
        tensors = read_safetensors(os.path.join(args.source, "model.safetensors"))
    except (OSError, ValueError, KeyError, struct.error) as e:
        sys.exit("grow_backbone: %s: not a readable AST checkpoint (%s)" % (args.source, e))
    depth = config.get("num_hidden_layers", 0)
    if depth < 1 or args.layers < depth:
        sys.exit("grow_backbone: --layers %d must be at least the source's %d layers"
                 % (args.layers, depth))
    grown = {}
    for name, tensor in tensors.items():
        if name.startswith("classifier."):
            continue
        m = LAYER.match(name)
        if not m:
            grown[name] = tensor
    for i in range(args.layers):
        prefix = "audio_spectrogram_transformer.encoder.layer.%d." % (i % depth)
        for name, tensor in tensors.items():
            if name.startswith(prefix):
                grown[LAYER.sub(r"\g<1>%d\g<3>" % i, name)] = tensor
    config["num_hidden_layers"] = args.layers
    config["architectures"] = ["ASTModel"]
    for key in ("id2label", "label2id", "problem_type"):
        config.pop(key, None)
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), grown)
    write_json(os.path.join(args.out, "config.json"), config)
    pre = os.path.join(args.source, "preprocessor_config.json")
    if os.path.exists(pre):
        shutil.copyfile(pre, os.path.join(args.out, "preprocessor_config.json"))
    print("grow_backbone: %d layers from %d: %d tensors in %s"
          % (args.layers, depth, len(grown), args.out))


if __name__ == "__main__":
    main()
