"""`trit synth --head-type` / `trit convert --head-type`: files with the head / tied embedding in ggml's
block types (docs/formats.md §10), what `trit info` says of them, and the options' errors."""
import os

from conftest import BIN, run

TRIT = os.path.join(BIN, "trit")


def _embedding_line(path):
    out = run([TRIT, "info", "-m", path]).stdout
    return next(l for l in out.splitlines() if l.startswith("embedding"))


def test_synth_and_convert_write_block_heads(built, tmp_path):
    q6 = str(tmp_path / "q6.gguf")
    run([TRIT, "synth", "--preset", "tiny", "--head-type", "q6_k", "-o", q6])
    # 1024 rows of 256 weights: one 210-byte block each (F16 would be 512 KiB)
    assert _embedding_line(q6).split()[1:4] == ["Q6_K", "1024x256,", "210.0"], _embedding_line(q6)
    f32 = str(tmp_path / "f32.gguf")
    run([TRIT, "convert", "-m", q6, "--head-type", "f32", "-o", f32])
    assert _embedding_line(f32).split()[1] == "F32"
    kept = str(tmp_path / "kept.gguf")
    run([TRIT, "convert", "-m", q6, "-o", kept])   # a block head is kept as it is by default
    assert _embedding_line(kept).split()[1] == "Q6_K"
    # the dequantized head written as F32 generates the block file's greedy tokens
    args = ["run", "-p", "Hello", "-n", "12", "--temp", "0", "--ignore-eos"]
    a = run([TRIT, *args, "-m", q6]).stdout
    b = run([TRIT, *args, "-m", f32]).stdout
    assert a == b and a


def test_head_type_errors(built, tmp_path):
    out = str(tmp_path / "x.gguf")
    r = run([TRIT, "synth", "--preset", "tiny", "--head-type", "q7", "-o", out], check=False)
    assert r.returncode == 1 and "unknown head type q7" in r.stderr, r.stderr
    r = run([TRIT, "synth", "--preset", "bonsai-1.7b", "--head-type", "q6_k", "-o", out], check=False)
    assert r.returncode == 1 and "--head-type is for the BitNet shapes" in r.stderr, r.stderr
    assert not os.path.exists(out)
