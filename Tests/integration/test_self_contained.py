"""The built library, the `trit` command and the Python extension carry the Swift runtime inside: their
NEEDED lists name only the C/C++ system libraries, and no RUNPATH leads into the toolchain or the build
machine. (The Makefile builds with a plain `swift build -c release`: Package.swift links the runtime
statically, so this checks what a SwiftPM user or a packager gets too.)"""
import os
import re
import subprocess

from conftest import BIN, ROOT

SYSTEM_LIBRARIES = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}


def dynamic_section(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    runpaths = [p for m in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", out)
                for p in m.split(":")]
    return needed, runpaths


def assert_self_contained(path, also_allowed=()):
    needed, runpaths = dynamic_section(path)
    assert "libc.so.6" in needed, f"{path}: readelf found no NEEDED list: {needed}"
    extra = set(needed) - SYSTEM_LIBRARIES - set(also_allowed)
    assert not extra, f"{path} NEEDs libraries beyond libc, libm, libstdc++, libgcc_s: {sorted(extra)}"
    # only paths relative to the file itself: nothing into the toolchain (/opt/swift/...) or the build tree
    foreign = [p for p in runpaths if not p.startswith("$ORIGIN")]
    assert not foreign, f"{path} has a RUNPATH outside its own folder: {foreign}"
    return needed


def test_library_needs_only_system_libraries():
    needed = assert_self_contained(os.path.join(ROOT, "build", "lib", "libtrit.so.0"))
    assert not any("swift" in n.lower() for n in needed)


def test_trit_command_needs_only_system_libraries():
    assert_self_contained(os.path.join(BIN, "trit"))


def test_python_extension_needs_only_the_library_and_libc():
    import trit._trit as ext  # the package `make python` installed into this interpreter's venv
    assert_self_contained(ext.__file__, also_allowed=["libtrit.so.0"])
    needed, runpaths = dynamic_section(ext.__file__)
    assert "libtrit.so.0" in needed and runpaths == ["$ORIGIN/lib"], (needed, runpaths)
    lib = os.path.join(os.path.dirname(ext.__file__), "lib", "libtrit.so.0")
    assert_self_contained(lib)


def test_the_check_sees_a_toolchain_library():
    """The check can fail: a Swift program linked the default way NEEDs the toolchain's runtime."""
    import pytest
    import shutil
    import tempfile
    if shutil.which("swiftc") is None:
        pytest.fail("swiftc is needed to build the counter-example")
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "hello.swift")
        open(src, "w").write('print("hi")\n')
        subprocess.run(["swiftc", src, "-o", os.path.join(d, "hello")], check=True, capture_output=True)
        with pytest.raises(AssertionError, match="libswiftCore"):
            assert_self_contained(os.path.join(d, "hello"))
