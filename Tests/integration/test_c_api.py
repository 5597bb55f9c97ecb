"""The C API test program (Tests/c/test_api.c): hostile callers, buffers, threads, free order."""
import os
import subprocess

from conftest import BIN, FIX, ROOT, run


def build_c_test():
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    out = os.path.join(BIN, "test_api")
    run(["cc", "-O1", "-g", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "Tests", "c", "test_api.c"), "-o", out] + flags + ["-lpthread"])
    return out


def test_c_api_all_cases(built):
    exe = build_c_test()
    for model, tok in [("b158-tiny/model.i2_s.gguf", "b158-tiny/hf-bitlinear"),
                       ("llama-ternary-tiny/hf", "b158-tiny/model.tq2_0.gguf")]:
        r = run([exe, os.path.join(FIX, model), os.path.join(FIX, tok)], check=False)
        print(r.stdout)
        assert r.returncode == 0 and r.stdout.strip().endswith(" 0 failed"), r.stdout + r.stderr


def test_embeddings_through_the_c_api(built):
    """Tests/c/test_embed.c: trit_embed's sizes, defaults, pooling, truncation, sequences, refusals."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    out = os.path.join(BIN, "test_embed")
    run(["cc", "-O1", "-g", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "Tests", "c", "test_embed.c"), "-o", out]
        + flags + ["-lm"])
    r = run([out, os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")], check=False)
    print(r.stdout)
    assert r.returncode == 0 and r.stdout.strip().endswith(" 0 failed") and "FAIL" not in r.stdout, r.stdout + r.stderr


def test_header_compiles_as_cpp(built, tmp_path):
    src = tmp_path / "t.cpp"
    src.write_text('#include <trit.h>\nint main() { return trit_version_number() == TRIT_VERSION_NUMBER ? 0 : 1; }\n')
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    run(["g++", "-Wall", "-Werror", str(src), "-o", str(tmp_path / "t")] + flags)
    run([str(tmp_path / "t")])


def test_only_trit_symbols_exported(built):
    out = subprocess.check_output(["nm", "-D", "--defined-only", os.path.join(ROOT, "build", "lib", "libtrit.so")], text=True)
    globals_ = [l.split()[-1] for l in out.splitlines() if len(l.split()) == 3 and l.split()[1] in "TDBRVW"]
    assert globals_ and all(s.startswith("trit_") for s in globals_), [s for s in globals_ if not s.startswith("trit_")][:10]
    soname = subprocess.check_output(["readelf", "-d", os.path.join(ROOT, "build", "lib", "libtrit.so")], text=True)
    assert "Library soname: [libtrit.so.0]" in soname
    assert os.readlink(os.path.join(ROOT, "build", "lib", "libtrit.so")) == "libtrit.so.0"


def test_multi_turn_chat_context_matches_the_template(built):
    """However a turn ends (length, stop string, callback, full context), the context holds the
    chat template applied to the whole conversation (Tests/c/test_chat_turns.c)."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    out = os.path.join(BIN, "test_chat_turns")
    run(["cc", "-O1", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "Tests", "c", "test_chat_turns.c"), "-o", out] + flags)
    r = run([out, os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")], check=False)
    assert r.returncode == 0 and r.stdout.strip().endswith("0 failed"), r.stdout + r.stderr
    assert r.stdout.count("ok ") == 4, r.stdout


def test_engine_and_sampler_through_the_c_api(built):
    """Tests/c/test_engine.c: the engine, samplers and per-row batches against hostile callers."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "trit"], env=env, text=True).split()
    out = os.path.join(BIN, "test_engine")
    run(["cc", "-O1", "-g", "-Wall", "-Wextra", "-Werror", os.path.join(ROOT, "Tests", "c", "test_engine.c"), "-o", out]
        + flags + ["-lpthread", "-lm"])
    r = run([out, os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf")], check=False)
    assert r.returncode == 0 and r.stdout.strip().endswith(" 0 failed"), r.stdout + r.stderr


def test_engine_example_serves_several_prompts(built):
    r = run([os.path.join(BIN, "engine"), os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"), "In the beginning", "O Romeo"])
    assert r.stdout.count("24 generated") == 2 and "[0] In the beginning" in r.stdout and "[1] O Romeo" in r.stdout
    # each prompt's text equals what `trit run` prints for it alone (greedy)
    for i, p in enumerate(["In the beginning", "O Romeo"]):
        alone = run([os.path.join(BIN, "trit"), "run", "-m", os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"), "-p", p,
                     "-n", "24", "--temp", "0", "--ignore-eos", "--no-timings"]).stdout.rstrip("\n")
        assert f"[{i}] {alone}\n" in r.stdout, (alone, r.stdout)
