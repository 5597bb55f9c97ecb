"""What `trit info` says about the KV cache is what `trit run` uses, and sampling options out of
range are refused with a clear error and a non-zero exit before the model loads."""
import os
import re
import struct

import pytest

from conftest import BIN, FIX, run

TRIT = os.path.join(BIN, "trit")
MODEL = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
KV_TYPE_IDS = {"f32": 0, "f16": 1, "q8_0": 8}   # trit_kv_type
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def info_kv(args=()):
    """(bytes, positions, types) of the "KV cache" line of `trit info`: types is "f16" or "K q8_0, V f16"."""
    out = run([TRIT, "info", "-m", MODEL, "-c", "512", *args]).stdout
    m = re.search(r"^KV cache\s+([0-9.]+) (B|KiB|MiB|GiB) for (\d+) positions \(([^)]*)\)$", out, re.MULTILINE)
    assert m, out
    return float(m.group(1)) * UNITS[m.group(2)], int(m.group(3)), m.group(4)


def saved_state(tmp_path, name, n, args=()):
    """`trit run` with a prompt cache: (type_k, type_v) from the saved state's header, and its size."""
    path = str(tmp_path / name)
    run([TRIT, "run", "-m", MODEL, "-p", "Every morning", "-n", str(n), "--ignore-eos", "--seed", "1",
         "--no-timings", "--prompt-cache", path, *args])
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"TRITSTAT", b[:8]
    # "TRITSTAT" | u32 version | u64 fingerprint | u32 name length | name | i32 type_k | i32 type_v
    (name_len,) = struct.unpack_from("<I", b, 20)
    type_k, type_v = struct.unpack_from("<ii", b, 24 + name_len)
    return (type_k, type_v), len(b)


@pytest.mark.parametrize("args, label", [((), "f16"), (("-ctk", "f32", "-ctv", "f32"), "f32"),
                                         (("-ctk", "q8_0"), "K q8_0, V f16")])
def test_info_reports_the_kv_cache_that_run_uses(built, tmp_path, args, label):
    size, positions, types = info_kv(args)
    assert positions == 512 and types == label
    # the cache `trit run` makes with the same options: its types from a saved state's header, its
    # bytes a position from two states 10 positions apart (each position also saves its token id)
    ids, small = saved_state(tmp_path, "a.state", 2, args)
    ids2, large = saved_state(tmp_path, "b.state", 12, args)
    key = label.split(",")[0].removeprefix("K ")
    value = label.split(", V ")[-1]
    assert ids == ids2 == (KV_TYPE_IDS[key], KV_TYPE_IDS[value]), (ids, label)
    per_position = (large - small) / 10 - 4
    assert abs(size / positions - per_position) <= 0.005 * per_position, (size, positions, per_position)


# what the error names: the option, or the sampler's field that the engine checks
NAMED = {"--temp": "--temp", "--top-p": "top_p", "--top-k": "top_k", "--min-p": "min_p",
         "--repeat-penalty": "repeat_penalty", "--repeat-last-n": "repeat_last_n", "--seed": "--seed",
         "--keep": "--keep", "-n": "option -n"}


@pytest.mark.parametrize("args", [["--temp", "-1"], ["--temp", "-0.5"], ["--temp=-1"], ["--top-p", "-0.5"],
                                  ["--top-p", "0"], ["--top-k", "-1"], ["--min-p", "-0.1"],
                                  ["--repeat-penalty", "-1"], ["--repeat-last-n", "-1"], ["--seed", "-3"],
                                  ["--keep", "-1"], ["-n", "-2"]])
@pytest.mark.parametrize("command", ["run", "chat"])
def test_out_of_range_sampling_options_are_refused(built, command, args):
    prompt = ["-p", "Hello"] if command == "run" else []
    r = run([TRIT, command, "-m", MODEL, *prompt, *args], input="Hello\n", check=False)
    assert r.returncode == 1, (args, r.returncode, r.stdout, r.stderr)
    assert r.stdout == "" and "loading" not in r.stderr, (args, r.stdout, r.stderr)   # refused before the model loads
    assert r.stderr.startswith(f"trit {command}: error:"), (args, r.stderr)
    assert NAMED[args[0].split("=")[0]] in r.stderr, (args, r.stderr)


def test_zero_temperature_is_greedy(built):
    """The lower edge stays accepted: 0 = greedy, the same text whatever the seed."""
    a = run([TRIT, "run", "-m", MODEL, "-p", "Every", "-n", "8", "--temp", "0", "--seed", "1", "--no-timings"]).stdout
    b = run([TRIT, "run", "-m", MODEL, "-p", "Every", "-n", "8", "--temp", "0", "--seed", "2", "--no-timings"]).stdout
    assert a == b and a.startswith("Every")
