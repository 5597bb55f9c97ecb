#!/usr/bin/env python3
"""The README's sample outputs, made by their own commands so they cannot go stale.

A sample is a fenced block without a language whose first line is `$ COMMAND`; the rest of the
block is what COMMAND prints on stdout, run from the repository root (stderr, where trit prints
its timings, is not part of a sample).

    scripts/readme_samples.py           run every sample's command, compare, exit 1 on a difference
    scripts/readme_samples.py --write   run them and write their output into README.md

Tests/integration/test_readme_samples.py runs the check in `make test`. Run `make all` first:
the commands use build/bin/trit.
"""
import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")

# ``` on its own line, then "$ command", then the output up to the closing ```
SAMPLE = re.compile(r"^```\n\$ (?P<command>[^\n]+)\n(?P<output>.*?)^```$", re.MULTILINE | re.DOTALL)


def samples(text):
    """(command, output as written, span of the output in text) for every sample block."""
    return [(m.group("command"), m.group("output"), m.span("output")) for m in SAMPLE.finditer(text)]


def normalize(output):
    """A sample's text as the README holds it: the lines as printed, one newline at the end."""
    return output.rstrip("\n") + "\n"


def run(command, env=None, timeout=600):
    """What `command` prints on stdout, run from the repository root; an error if it fails."""
    r = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, errors="replace",
                       env=env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"`{command}` exited with {r.returncode}:\n{r.stderr}")
    return normalize(r.stdout)


def differences(text, env=None):
    """[(command, README's output, the command's output)] for every sample that differs."""
    out = []
    for command, written, _ in samples(text):
        got = run(command, env)
        if got != normalize(written):
            out.append((command, normalize(written), got))
    return out


def write(text, env=None):
    """text with every sample's output replaced by what its command prints now."""
    parts, at = [], 0
    for command, _, (start, end) in samples(text):
        parts += [text[at:start], run(command, env)]
        at = end
    return "".join(parts) + text[at:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write the commands' outputs into README.md")
    args = ap.parse_args()
    with open(README, encoding="utf-8") as f:
        text = f.read()
    if not samples(text):
        sys.exit("README.md has no sample block (```, then a line `$ COMMAND`)")
    if args.write:
        new = write(text)
        if new != text:
            with open(README, "w", encoding="utf-8") as f:
                f.write(new)
        print(f"README.md: {len(samples(text))} sample(s) written" + ("" if new != text else " (unchanged)"))
        return
    diffs = differences(text)
    for command, written, got in diffs:
        print(f"$ {command}: README.md differs from the command's output", file=sys.stderr)
        sys.stderr.writelines(difflib.unified_diff(written.splitlines(True), got.splitlines(True), "README.md", "command"))
    if diffs:
        sys.exit(f"{len(diffs)} of {len(samples(text))} README sample(s) are stale: run scripts/readme_samples.py --write")
    print(f"README.md: {len(samples(text))} sample(s) match their commands")


if __name__ == "__main__":
    main()
