"""One binary for every x86-64 CPU: outside the kernel variants chosen at run time, nothing uses more than
the x86-64 baseline (SSE2). Checked twice: the machine code (every function with VEX/EVEX instructions
comes from Sources/TritKernels/x86/ or is a variant named for its ISA), and by running the CLI and Python
under qemu-x86_64 with `-cpu qemu64` (the baseline model: no SSSE3, SSE4, AVX), where the scalar
kernels must be chosen and give a native TRIT_KERNEL=scalar run's tokens."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import BIN, ROOT

CPU = "qemu64"
PROMPT = "In the beginning"
N_TOKENS = 6
LIB = os.path.join(ROOT, "build", "lib", "libtrit.so.0")


def qemu():
    q = shutil.which("qemu-x86_64")
    if q is None:
        pytest.fail("qemu-x86_64 is needed (Debian: apt-get install qemu-user; .ci/run installs it)")
    return q


def run(args, env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "TRIT_KERNEL"}
    env.update(env_extra or {})
    return subprocess.run(args, capture_output=True, text=True, errors="replace", env=env,
                          cwd=cwd or tempfile.gettempdir(), timeout=300)


# ---- the machine code -----------------------------------------------------------------------------

# VEX/EVEX-encoded instructions (AVX, AVX2, FMA, F16C, AVX-512 and its mask registers), and the
# legacy-encoded ones beyond SSE2: SSE3, SSSE3, SSE4.1/4.2, POPCNT, LZCNT, BMI1/2, MOVBE. (tzcnt is
# `rep bsf`, which CPUs without BMI1 run as bsf; compilers emit it only where the two agree.)
BEYOND_SSE2 = re.compile(
    r"^\s*[0-9a-f]+:\s+("
    r"v[a-z0-9]+|k(?:mov|and|or|xor|not|shift|unpck|add|test|ortest)[a-z]*"
    r"|addsubp[sd]|h(?:add|sub)p[sd]|lddqu|movddup|movs[hl]dup"
    r"|pshufb|pmaddubsw|palignr|ph(?:add|sub)s?[wd]|pabs[bwd]|psign[bwd]|pmulhrsw"
    r"|p?blendv?p?[sdb]|blendp[sd]|pblendw|dpp[sd]|round[ps][sd]|pm(?:in|ax)(?:sb|sd|ud|uw)|pmulld|pmuldq|ptest"
    r"|pmov[sz]x[bwd][wdq]|pextr[bdq]|pinsr[bdq]|extractps|insertps|packusdw|pcmpeqq|mpsadbw|phminposuw|movntdqa"
    r"|pcmpgtq|crc32[bwlq]?|pcmp[ei]str[im]"
    r"|popcnt[wlq]?|lzcnt[wlq]?|andn[lq]?|bextr[lq]?|bls(?:i|r|msk)[lq]?|bzhi[lq]?|pdep[lq]?|pext[lq]?"
    r"|rorx[lq]?|sarx[lq]?|shlx[lq]?|shrx[lq]?|mulx[lq]?|movbe[wlq]?"
    r")\s")


def functions_beyond_sse2(binary):
    """{function: (its address, its first instruction beyond SSE2)} over the binary's disassembly."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True,
                         check=True).stdout
    found, fn, start = {}, None, None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if m:
            start, fn = m.group(1), m.group(2)
            continue
        m = BEYOND_SSE2.match(line)
        if m and fn and m.group(1) not in ("verr", "verw") and fn not in found:
            found[fn] = (start, m.group(1))
    return found


def source_files(binary, addresses):
    out = subprocess.run(["addr2line", "-e", binary] + ["0x" + a for a in addresses], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return dict(zip(addresses, out))


def allowed(name, source):
    return "/Sources/TritKernels/x86/" in source or re.search(r"avx|vnni", name) is not None


@pytest.mark.parametrize("binary", [LIB, os.path.join(BIN, "trit")])
def test_only_kernel_variants_go_beyond_sse2(binary):
    found = functions_beyond_sse2(binary)
    assert any(n.startswith("tk_ternary_gemm_avx2") for n in found), \
        f"the scan found no AVX2 kernel in {binary}: it sees nothing ({len(found)} functions)"
    files = source_files(binary, [a for a, _ in found.values()])
    stray = {n: (mn, files[a]) for n, (a, mn) in found.items() if not allowed(n, files[a])}
    assert not stray, f"instructions beyond SSE2 outside the dispatched kernels: {stray}"


def test_python_extension_is_baseline():
    import trit._trit as ext
    assert functions_beyond_sse2(ext.__file__) == {}


@pytest.mark.parametrize("flag, code", [
    ("-mavx2", "void scale(float *x, int n) { for (int i = 0; i < n; i++) x[i] *= 3.0f; }"),
    ("-mpopcnt", "int scale(unsigned long x) { return __builtin_popcountl(x); }"),
    ("-msse4.1", "float scale(float x) { return __builtin_floorf(x); }"),
])
def test_the_scan_sees_stray_instructions_in_ordinary_code(flag, code):
    """The scan can fail: a function compiled beyond the baseline outside the kernel folder is reported."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "stray.c")
        open(src, "w").write(code + "\n")
        obj = os.path.join(d, "stray.so")
        subprocess.run(["cc", "-O3", "-g", flag, "-shared", "-fPIC", src, "-o", obj], check=True)
        found = functions_beyond_sse2(obj)
        assert "scale" in found, (flag, found)
        files = source_files(obj, [found["scale"][0]])
        assert not allowed("scale", files[found["scale"][0]])


# ---- running on the baseline CPU ------------------------------------------------------------------

def cli_generate(prefix, env_extra=None):
    r = run(prefix + [os.path.join(BIN, "trit"), "run", "-p", PROMPT, "-n", str(N_TOKENS), "--temp", "0", "-t", "1"],
            env_extra)
    return r


def test_cli_on_the_baseline_cpu_chooses_scalar_and_matches_native_scalar():
    native = cli_generate([], {"TRIT_KERNEL": "scalar"})
    assert native.returncode == 0, native.stderr
    emulated = cli_generate([qemu(), "-cpu", CPU])
    assert emulated.returncode == 0, emulated.stderr
    print(f"qemu-x86_64 -cpu {CPU} trit run -p {PROMPT!r} -n {N_TOKENS} --temp 0 -t 1:\n"
          f"{emulated.stdout}{emulated.stderr}")
    assert "kernels scalar" in emulated.stderr
    assert emulated.stdout.strip() and emulated.stdout == native.stdout


def test_asking_for_a_variant_the_cpu_lacks_is_a_clear_error():
    r = cli_generate([qemu(), "-cpu", CPU], {"TRIT_KERNEL": "avx2"})
    assert r.returncode != 0
    assert 'kernel variant "avx2" is not available on this CPU' in r.stderr, r.stderr
    assert "Illegal instruction" not in r.stderr and r.returncode > 0


PYTHON_GENERATE = f"""
import json, trit
with trit.Model(n_ctx=64, n_threads=1) as m:
    text = m.generate({PROMPT!r}, max_tokens={N_TOKENS}, temperature=0)
    print(json.dumps({{"text": text, "tokens": list(m.context.tokens)}}))
"""


def test_python_on_the_baseline_cpu_matches_native_scalar():
    native = run([sys.executable, "-c", PYTHON_GENERATE], {"TRIT_KERNEL": "scalar"})
    assert native.returncode == 0, native.stderr
    emulated = run([qemu(), "-cpu", CPU, sys.executable, "-c", PYTHON_GENERATE])
    assert emulated.returncode == 0, emulated.stderr
    print(f"qemu-x86_64 -cpu {CPU} python: {emulated.stdout.strip()}")
    a, b = json.loads(native.stdout), json.loads(emulated.stdout)
    assert len(b["tokens"]) > N_TOKENS // 2 and a["tokens"] == b["tokens"], (a, b)
