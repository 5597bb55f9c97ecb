"""Minimal generation with the trit Python package: simple.py MODEL PROMPT [N_TOKENS] [SEED]"""
import sys

import trit

if len(sys.argv) < 3:
    sys.exit(f"usage: {sys.argv[0]} MODEL PROMPT [N_TOKENS] [SEED]")
n = int(sys.argv[3]) if len(sys.argv) > 3 else 64
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0xC0FFEE
with trit.Model(sys.argv[1]) as model:
    ids = model.tokenize(sys.argv[2])
    print(model.generate(ids, max_tokens=n, seed=seed))
