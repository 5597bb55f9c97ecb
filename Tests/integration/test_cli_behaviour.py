"""What a llama.cpp user expects of the `trit` command: options checked before the model loads,
clean logs when stderr is not a terminal, errors on their own line, Ctrl-C that stops a reply
(chat keeps the conversation; run prints its timings), and convert that never damages its input."""
import os
import signal
import subprocess
import time

from conftest import BIN, FIX, ROOT, run

TRIT = os.path.join(BIN, "trit")
MODEL = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


def test_bad_options_fail_before_anything_is_printed(built):
    for args in (["--top-p", "2"], ["-n", "0"], ["-n", "-5"], ["--temp", "nan"], ["-t", "0"], ["-c", "-3"],
                 ["--min-p", "1.5"], ["--repeat-penalty", "0"]):
        r = run([TRIT, "run", "-m", MODEL, "-p", "Hello"] + args, check=False)
        assert r.returncode == 1, args
        assert r.stdout == "", (args, r.stdout)              # the prompt is not echoed first
        assert "loading" not in r.stderr, (args, r.stderr)    # the model is not loaded first
        assert r.stderr.startswith("trit run: error:"), (args, r.stderr)
    r = run([TRIT, "bench", "-m", MODEL, "-r", "0"], check=False)
    assert r.returncode == 1 and "loading" not in r.stderr and "-r" in r.stderr


def test_minus_one_tokens_means_until_the_end(built):
    r = run([TRIT, "run", "-m", MODEL, "-p", "Hi", "-n", "-1", "-c", "24", "--no-timings", "--ignore-eos"])
    assert r.returncode == 0 and r.stdout.startswith("Hi")


def test_context_beyond_training_warns(built):
    r = run([TRIT, "run", "-m", MODEL, "-p", "Hi", "-n", "2", "-c", "100000", "--no-timings"])
    assert "warning: -c 100000 is larger than the context the model was trained with" in r.stderr


def test_no_progress_bars_in_logs_and_errors_on_their_own_line(built, tmp_path):
    out = str(tmp_path / "tiny.gguf")
    r = run([TRIT, "synth", "--preset", "tiny", "-o", out])
    assert "\r" not in r.stderr and "wrote" in r.stderr
    r = run([TRIT, "convert", "-m", out, "-o", str(tmp_path / "c.gguf")])
    assert "\r" not in r.stderr
    r = run([TRIT, "bench", "-m", out, "-p", "8", "-n", "2", "-r", "1", "-t", "1", "--no-bandwidth"])
    assert "\r" not in r.stderr
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 8)
    r = run([TRIT, "run", "-m", str(bad)], check=False)
    # "loading ... " is printed without a newline; the error must not continue that line
    assert r.returncode == 1 and "\ntrit run: error:" in r.stderr, r.stderr


def _read_until(p, n):
    """Read at least n bytes of stdout (trit flushes each piece). Signalling after output is seen,
    not after a fixed sleep, keeps these tests right on a machine fast enough to finish 4096
    tokens of the tiny model in a second."""
    got = b""
    while len(got) < n:
        chunk = os.read(p.stdout.fileno(), 4096)
        assert chunk, ("stdout closed early", got)
        got += chunk
    return got


def test_ctrl_c_stops_run_and_prints_timings(built):
    p = subprocess.Popen([TRIT, "run", "-m", MODEL, "-p", "Every", "-n", "-1", "-c", "4096", "-t", "1", "--ignore-eos"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _read_until(p, len("Every") + 8)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    err = err.decode("utf-8", "replace")
    assert p.returncode == 0, (p.returncode, err)
    assert "[interrupted]" in err and "generation  =" in err and "stopped by  = aborted" in err


def test_ctrl_c_in_chat_returns_to_the_prompt(built):
    p = subprocess.Popen([TRIT, "chat", "-m", MODEL, "-n", "-1", "-c", "4096", "-t", "1", "--ignore-eos"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"Tell me a long story\n")
    p.stdin.flush()
    _read_until(p, 8)               # the reply has started
    p.send_signal(signal.SIGINT)
    time.sleep(0.5)
    out, err = p.communicate(b"And another\n\n", timeout=120)
    err = err.decode("utf-8", "replace")
    assert p.returncode == 0, (p.returncode, err)
    assert "[interrupted]" in err
    assert err.count("> ") >= 3     # the prompt came back for the second message and the empty line


def test_convert_onto_its_own_input(built, tmp_path):
    src = tmp_path / "m.gguf"
    src.write_bytes(open(MODEL, "rb").read())
    before = run([TRIT, "run", "-m", str(src), "-p", "Every", "-n", "8", "--temp", "0", "--no-timings", "--ignore-eos"]).stdout
    for target in [str(src), "./m.gguf"]:
        r = run([TRIT, "convert", "-m", str(src), "-o", target], cwd=str(tmp_path))
        assert r.returncode == 0
    link = tmp_path / "link.gguf"
    os.symlink(src, link)
    run([TRIT, "convert", "-m", str(link), "-o", str(link)])
    assert os.path.islink(link)      # written through the link, the link kept
    after = run([TRIT, "run", "-m", str(src), "-p", "Every", "-n", "8", "--temp", "0", "--no-timings", "--ignore-eos"]).stdout
    assert after == before
    assert not [f for f in os.listdir(tmp_path) if ".tmp-" in f]


def test_convert_keeps_what_it_does_not_change(built, tmp_path):
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    import gguf_edit as g
    m = g.load(os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"))
    for e in m.kv:
        if e[0] == b"tokenizer.ggml.pre":
            e[2] = b"qwen2"
        if e[0] == b"bitnet-b1.58.context_length":
            e[1], e[2] = g.U64, 4096
    src = tmp_path / "q.gguf"
    src.write_bytes(m.to_bytes())
    out = tmp_path / "out.gguf"
    run([TRIT, "convert", "-m", str(src), "-o", str(out)])
    kv = {k: v for k, t, v in g.load(str(out)).kv}
    assert kv[b"tokenizer.ggml.pre"] == b"qwen2"
    assert kv[b"bitnet-b1.58.context_length"] == 4096


def test_i2s_code_3_is_refused(built, tmp_path):
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    import gguf_edit as g
    m = g.load(os.path.join(ROOT, "Models", "trit-bundled-i2_s.gguf"))
    data = bytearray(m.data)
    data[100] = 0xFF    # four codes 3 in the first tensor's first bytes (token_embd is F16: find an I2_S one)
    src = tmp_path / "bad.gguf"
    m2 = g.GGUF(m.to_bytes())
    # put the 0xFF into the first I2_S tensor's data
    import struct
    for info in m2.tensors:
        nlen = struct.unpack_from("<Q", info, 0)[0]
        name = info[8:8 + nlen]
        nd = struct.unpack_from("<I", info, 8 + nlen)[0]
        typ, off = struct.unpack_from("<IQ", info, 8 + nlen + 4 + 8 * nd)
        if typ == 36:
            data = bytearray(m2.data)
            data[off + 5] = 0xFF
            m2.data = bytes(data)
            break
    src.write_bytes(m2.to_bytes())
    r = run([TRIT, "info", str(src)], check=False)
    assert r.returncode == 1 and "code 3" in r.stderr and name.decode() in r.stderr, r.stderr
