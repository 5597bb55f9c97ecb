"""ABI: a program compiled against an older header (shorter structs) runs against this library."""
import os
import re
import subprocess

from conftest import BIN, ROOT, run

HEADER = os.path.join(ROOT, "Include", "trit.h")


def older_header():
    """trit.h without the newest field of each growable struct, as an earlier release had it."""
    h = open(HEADER).read()
    # context params: everything from the abort callback on (abort, n_cells, type_k, type_v)
    h = re.sub(r"\n    trit_abort_fn abort_callback;.*?(?=\n} trit_context_params;)", "", h, flags=re.S)
    h = h.replace("    p.type_k = TRIT_KV_F16;\n    p.type_v = TRIT_KV_F16;\n    return p;\n}\n\n/* Create a context.",
                  "    return p;\n}\n\n/* Create a context.")
    h = re.sub(r"\n    int32_t eos;[^\n]*\n    int32_t eot;[^\n]*", "", h)                            # model info
    h = re.sub(r"\n    double generation_seconds;.*?(?=\n} trit_generate_result;)", "", h, flags=re.S)  # result
    h = re.sub(r"\n    bool int8_head;[^\n]*\n[^\n]*exact\) \*/", "", h)                          # model params
    # generate params: the embedded sampler (a caller built before it: the flat sampling fields)
    h, n = re.subn(r"\n    trit_sampler_params sampling;.*?(?=\n} trit_generate_params;)", "", h, flags=re.S)
    assert n == 1, "trit_generate_params.sampling not found"
    return h


def build(tmp_path, header_text, name):
    inc = tmp_path / name
    inc.mkdir()
    (inc / "trit.h").write_text(header_text)
    out = str(tmp_path / (name + "_bin"))
    run(["cc", "-O1", "-Wall", "-Wextra", "-Werror", "-I", str(inc), os.path.join(ROOT, "Tests", "c", "old_caller.c"),
         "-o", out, "-L", os.path.join(ROOT, "build", "lib"), "-ltrit", "-Wl,-rpath," + os.path.join(ROOT, "build", "lib")])
    return out


def test_older_shorter_structs_still_work(built, tmp_path):
    old = older_header()
    assert old != open(HEADER).read()
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r_new = run([build(tmp_path, open(HEADER).read(), "new"), model], check=False)
    r_old = run([build(tmp_path, old, "old"), model], check=False)
    assert r_new.returncode == 0 and r_new.stdout.startswith("0 failed"), r_new.stdout + r_new.stderr
    assert r_old.returncode == 0 and r_old.stdout.startswith("0 failed"), r_old.stdout + r_old.stderr
    sizes = lambda s: re.findall(r"(\w+) (\d+)", s.split("sizes:")[1])
    new, older = dict(sizes(r_new.stdout)), dict(sizes(r_old.stdout))
    assert all(int(older[k]) < int(new[k]) for k in ("info", "context", "generate", "result")), (older, new)


def header_before_constraints():
    """trit.h as it was before the token constraint fields of trit_generate_params and trit_request."""
    h = open(HEADER).read()
    for struct in ("trit_generate_params", "trit_request"):
        h, n = re.subn(r"\n    trit_mask_fn constraint_mask;.*?(?=\n} " + struct + ";)", "", h, count=1, flags=re.S)
        assert n == 1, struct + ".constraint_mask not found"
    return h


def test_caller_built_before_constraints_gets_none(built, tmp_path):
    """Junk past an older trit_generate_params must not be read as constraint callbacks."""
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r_new = run([build(tmp_path, open(HEADER).read(), "new"), model], check=False)
    r_old = run([build(tmp_path, header_before_constraints(), "preconstraint"), model], check=False)
    assert r_old.returncode == 0 and r_old.stdout.startswith("0 failed"), r_old.stdout + r_old.stderr
    sizes = lambda s: dict(re.findall(r"(\w+) (\d+)", s.split("sizes:")[1]))
    assert int(sizes(r_old.stdout)["generate"]) < int(sizes(r_new.stdout)["generate"])


def header_before_jump_forward():
    """trit.h as it was before jump-forward: no constraint_forced in trit_generate_params and
    trit_request, no n_forced_tokens in trit_generate_result."""
    h = open(HEADER).read()
    h, n = re.subn(r"\n    trit_forced_fn constraint_forced;[^\n]*(\n {20,}[^\n]*)*", "", h)
    assert n == 2, "constraint_forced fields found: %d" % n
    h, n = re.subn(r"\n    int32_t n_forced_tokens;[^\n]*", "", h)
    assert n == 1, "n_forced_tokens not found"
    return h


def test_caller_built_before_jump_forward_gets_none(built, tmp_path):
    """Junk past an older trit_generate_params must not be read as a forced-token callback, and
    n_forced_tokens must not be written past an older result."""
    model = os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")
    r_new = run([build(tmp_path, open(HEADER).read(), "new"), model], check=False)
    r_old = run([build(tmp_path, header_before_jump_forward(), "prejump"), model], check=False)
    assert r_old.returncode == 0 and r_old.stdout.startswith("0 failed"), r_old.stdout + r_old.stderr
    sizes = lambda s: dict(re.findall(r"(\w+) (\d+)", s.split("sizes:")[1]))
    old, new = sizes(r_old.stdout), sizes(r_new.stdout)
    assert int(old["generate"]) < int(new["generate"]) and int(old["result"]) < int(new["result"]), (old, new)
