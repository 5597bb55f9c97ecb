"""Every numeric metadata key of a GGUF set to its type's extreme values, loaded through the C API
in a child process (Tests/c/load_each.c): each file gives a working model or a clear error that
names the key, and none kills the process or hangs it."""
import math
import os
import struct
import subprocess

import gguf_edit as g
from conftest import BIN, ROOT, run

BUNDLED = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
INTS = [0, -1, 2**31 - 1, 2**31, 2**32 - 16, 2**32 - 1, 2**63 - 1, -2**63, 2**64 - 1]
FLOATS = [0.0, -1.0, math.nan, math.inf, -math.inf, 3.0e38, 1e-45]
# keys the loader reads that the bundled file does not carry
ADDED = [b"general.alignment", b"bitnet-b1.58.attention.key_length", b"bitnet-b1.58.rope.scaling.factor",
         b"tokenizer.ggml.unknown_token_id", b"tokenizer.ggml.padding_token_id", b"tokenizer.ggml.seperator_token_id"]


def fits(t, v):
    try:
        struct.pack(g.SCALAR[t], v)
        return True
    except (struct.error, OverflowError):
        return False


def as_type(t, v):
    """v stored in type t (integers wrap to the type's width, as a C writer would)."""
    if t in (g.F32, g.F64):
        return float(v)
    bits = struct.calcsize(g.SCALAR[t]) * 8
    v = int(v) % (1 << bits)
    if t in (g.I8, g.I16, g.I32, g.I64) and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def variants(model):
    """(label, bytes) of every edited file."""
    keys = [(k, t) for k, t, v in model.kv if t in g.SCALAR and t != g.BOOL]
    keys += [(k, g.U32) for k in ADDED if k not in {kk for kk, _, _ in model.kv}]
    for key, t in keys:
        for as_t in sorted({t, g.I64, g.U64, g.F64, g.I32}):
            values = FLOATS if as_t in (g.F32, g.F64) else INTS
            for v in values:
                w = as_type(as_t, v) if as_t not in (g.F32, g.F64) else v
                if as_t not in (g.F32, g.F64) and not fits(as_t, w):
                    continue
                m = g.GGUF(model.to_bytes())
                m.kv = [e for e in m.kv if e[0] != key] + [[key, as_t, w]]
                label = f"{key.decode()}={w!r}:{as_t}"
                alignment = None
                if key == b"general.alignment":
                    alignment = 32  # the data stays where a 32-aligned reader expects it
                yield label, m.to_bytes(alignment)
    # numeric arrays: the first element extreme
    for i, (key, t, v) in enumerate(model.kv):
        if t == g.ARRAY and v[0] in g.SCALAR and v[0] != g.BOOL and v[1]:
            et = v[0]
            for x in (FLOATS if et in (g.F32, g.F64) else INTS):
                w = x if et in (g.F32, g.F64) else as_type(et, x)
                m = g.GGUF(model.to_bytes())
                m.kv[i] = [key, t, (et, [w] + list(v[1][1:]))]
                yield f"{key.decode()}[0]={w!r}", m.to_bytes()


def build_harness():
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    out = os.path.join(BIN, "load_each")
    run(["cc", "-O1", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "Tests", "c", "load_each.c"), "-o", out] + flags)
    return out


def test_every_numeric_key_at_its_extremes(built, tmp_path):
    exe = build_harness()
    model = g.load(BUNDLED)
    labels = {}
    for n, (label, data) in enumerate(variants(model)):
        p = tmp_path / f"v{n}.gguf"
        p.write_bytes(data)
        labels[str(p)] = label
    assert len(labels) > 300
    paths = list(labels)
    lines = []
    for i in range(0, len(paths), 200):
        r = run([exe] + paths[i:i + 200], check=False)
        assert r.returncode == 0, r.stderr
        lines += r.stdout.splitlines()
    seen, bad = set(), []
    ok = err = 0
    for line in lines:
        kind, path, *rest = line.split(" ", 3)
        seen.add(path)
        label = labels[path]
        if kind == "OK":
            ok += 1
        elif kind == "ERR":
            err += 1
            status, message = int(rest[0]), rest[1] if len(rest) > 1 else ""
            key = label.split("=")[0].split("[")[0]
            # a file error names the key; OOM (a context that cannot be had) says so
            if status in (3, 4):
                if key.split(".")[-1] not in message and key not in message:
                    bad.append(f"{label}: error does not name the key: {message}")
            elif status not in (5, 7):
                bad.append(f"{label}: unexpected status {status}: {message}")
        else:
            bad.append(f"{label}: {line}")
    assert seen == set(paths), f"{len(set(paths) - seen)} files gave no line"
    assert not bad, "\n".join(bad[:40])
    assert ok > 0 and err > 0, (ok, err)
