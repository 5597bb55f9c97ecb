"""The README against the tree: its sample outputs are what their commands print (on every kernel
variant this CPU runs, so the text does not depend on the machine), and its list of example
programs names every program in Examples/."""
import os
import re
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import readme_samples  # noqa: E402

VARIANTS = ["scalar", "avx2", "avx512vnni"]
NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_readme_samples_are_what_their_commands_print(built):
    text = readme()
    assert readme_samples.samples(text), "README.md has no sample block"
    ran = []
    for variant in VARIANTS:
        env = dict(os.environ, TRIT_KERNEL=variant)
        try:
            diffs = readme_samples.differences(text, env)
        except RuntimeError as e:
            assert "not available on this CPU" in str(e), e
            print(f"kernel variant {variant}: not available on this CPU, not run")
            continue
        assert not diffs, (f"TRIT_KERNEL={variant}: stale README sample(s); run scripts/readme_samples.py --write",
                           diffs)
        ran.append(variant)
    assert "scalar" in ran, ran


def test_readme_names_every_example_program():
    programs = sorted(f for f in os.listdir(os.path.join(ROOT, "Examples")) if f.endswith(".c"))
    text = readme()
    m = re.search(r"\[`Examples/`\]\(Examples\) has (\w+) programs:\n((?:- .*\n)+)", text)
    assert m, "the README's sentence introducing Examples/ is missing"
    assert m.group(1) == NUMBERS[len(programs)], (m.group(1), programs)
    listed = sorted(re.findall(r"^- `([^`]+\.c)`", m.group(2), re.MULTILINE))
    assert listed == programs, (listed, programs)
