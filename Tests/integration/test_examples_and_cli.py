"""The example C programs, the Python example and the `trit` command, on fixture models."""
import os
import sys

import pytest

from conftest import BIN, FIX, ROOT, run

PROMPT = "Every morning the old fisherman"


@pytest.mark.parametrize("model", ["llama-ternary-tiny/hf", "b158-tiny/model.i2_s.gguf", "b158-tiny/model.tq1_0.gguf"])
def test_c_python_and_cli_print_the_same_text(built, model, tmp_path):
    path = os.path.join(FIX, model)
    cli = run([os.path.join(BIN, "trit"), "run", "-m", path, "-p", PROMPT, "-n", "24", "--seed", "7",
               "--no-echo", "--no-timings"]).stdout
    c = run([os.path.join(BIN, "simple"), path, PROMPT, "24", "7"]).stdout
    py = run([sys.executable, os.path.join(ROOT, "Examples", "simple.py"), path, PROMPT, "24", "7"], cwd=str(tmp_path)).stdout
    assert cli.strip() and cli == c == py, (cli, c, py)


def test_examples_are_short():
    for name in ["simple.c", "simple.py"]:
        with open(os.path.join(ROOT, "Examples", name)) as f:
            assert len(f.read().splitlines()) < 30, name


def test_stream_example_stops_from_callback(built):
    r = run([os.path.join(BIN, "stream"), os.path.join(FIX, "b158-tiny/model.i2_s.gguf"), "Every morning", "40"])
    assert "stopped by" in r.stderr


def test_chat_example_answers(built):
    r = run([os.path.join(BIN, "chat"), os.path.join(FIX, "b158-tiny/model.i2_s.gguf"), "Be brief."], input="Hello there\nAgain\n\n")
    assert r.stderr.count("> ") == 3     # two turns, then the empty line ends the chat
    replies = r.stdout.split("\n")
    # each turn prints a reply followed by a newline: two non-empty replies
    assert len([x for x in r.stdout.split("\n") if x.strip()]) >= 2, replies
    assert "error" not in r.stderr


def test_tokenize_example(built):
    r = run([os.path.join(BIN, "tokenize"), os.path.join(FIX, "b158-tiny/model.i2_s.gguf"), "Every morning"])
    lines = r.stdout.splitlines()
    assert lines[0] == "8 tokens (vocabulary 1024)"
    # the ids are the reference tokenizer's (Tests/Fixtures/b158-tiny/reference.json starts the same)
    assert [int(x.split()[0]) for x in lines[1:]] == [1, 426, 372, 955, 293, 267, 938, 302]
    assert "'<s>'" in lines[1]


def test_cli_help_explains_every_command(built):
    top = run([os.path.join(BIN, "trit"), "--help"]).stdout
    for cmd in ["run", "chat", "tokenize", "info", "bench", "perplexity", "synth", "convert"]:
        assert cmd in top
        h = run([os.path.join(BIN, "trit"), cmd, "--help"]).stdout
        assert h.startswith("usage: trit " + cmd) and "options:" in h


def test_cli_errors_are_clear(built, tmp_path):
    r = run([os.path.join(BIN, "trit"), "run", "-m", "/nonexistent.gguf"], check=False)
    assert r.returncode == 1 and "cannot open" in r.stderr
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 8)
    r = run([os.path.join(BIN, "trit"), "info", str(bad)], check=False)
    assert r.returncode == 1 and "bad.gguf" in r.stderr
    r = run([os.path.join(BIN, "trit"), "run", "--bogus"], check=False)
    assert r.returncode == 1 and "unknown option --bogus" in r.stderr


def test_cli_run_streams_and_times(built):
    r = run([os.path.join(BIN, "trit"), "run", "-m", os.path.join(FIX, "b158-tiny/model.i2_s.gguf"), "-p", "Every", "-n", "8",
             "--ignore-eos", "--seed", "1"])
    assert r.stdout.startswith("Every")
    for key in ["load time", "prompt eval", "generation"]:
        assert key in r.stderr


def test_cli_info_and_tokenize(built):
    r = run([os.path.join(BIN, "trit"), "info", os.path.join(FIX, "b158-tiny/model.i2_s.gguf")])
    assert "I2_S" in r.stdout and "KV cache" in r.stdout and "parameters" in r.stdout
    r = run([os.path.join(BIN, "trit"), "tokenize", "-m", os.path.join(FIX, "b158-tiny/model.f32.gguf"), "-p", PROMPT, "--ids"])
    assert r.stdout.strip() == "[1, 426, 372, 955, 293, 267, 938, 302, 270, 279, 704, 278, 269, 413, 947, 280]"  # = reference.json


def test_synth_convert_bench_perplexity(built, tmp_path):
    trit = os.path.join(BIN, "trit")
    for t in ["i2_s", "tq2_0", "tq1_0", "f16"]:
        out = str(tmp_path / f"tiny-{t}.gguf")
        run([trit, "synth", "--preset", "tiny", "--type", t, "-o", out])
        r = run([trit, "bench", "-m", out, "-p", "16", "-n", "4", "-r", "1", "-t", "1", "--json", "--no-bandwidth"])
        import json
        rows = json.loads(r.stdout)
        assert {row["test"] for row in rows} == {"pp16", "tg4"}
        for row in rows:
            assert row["tokens_per_second"] > 0 and row["threads"] == 1 and row["peak_rss_bytes"] > 0 and "stdev" in row
    conv = str(tmp_path / "conv.gguf")
    run([trit, "convert", "-m", os.path.join(FIX, "b158-tiny/hf-autobitlinear"), "--type", "tq2_0", "-o", conv])
    text = tmp_path / "text.txt"
    text.write_text("Every morning the old fisherman walked down to the harbor. " * 40)
    r = run([trit, "perplexity", "-m", conv, "-f", str(text), "-c", "64"])
    assert "Final estimate: PPL = " in r.stdout


def test_bundled_model_is_the_default(built, tmp_path):
    """`trit run` without -m generates from Models/trit-bundled-i2_s.gguf (found next to the binary too)."""
    r = run([os.path.join(BIN, "trit"), "run", "-p", "And the LORD said", "-n", "24", "--seed", "1", "--no-timings"], cwd=str(tmp_path))
    assert r.stdout.startswith("And the LORD said") and len(r.stdout.split()) > 8
    r = run([os.path.join(BIN, "trit"), "info"], cwd=str(tmp_path))
    assert "trit-bundled" in r.stdout and "gpt2" in r.stdout and "llama-bpe" in r.stdout
