"""Builds trit._trit and lays the package out as a small prefix: trit/lib/libtrit.so.0 (the Swift
runtime linked in statically), trit/share/trit/ (the bundled model), and the extension, which
finds the library through an $ORIGIN/lib rpath.

Where libtrit.so.0 comes from: TRIT_LIB=path/to/libtrit.so.0 (an already built library, e.g. the
Makefile's build/lib/, as `make wheel` does), or else `swift build -c release` in the trit
checkout (Swift 6 needed: a clear error says so when it is missing). The sdist carries the Swift
sources, so it builds the same way.

The version is the library's (TRIT_VERSION_* in Include/trit.h): one source of truth for the
library, `trit.__version__` and the wheel."""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

# The library's file names, as the Makefile's: what SwiftPM makes (the development link), and the file the
# SONAME (Linux) or install name (macOS, @rpath/libtrit.0.dylib: Package.swift) names; the rpath's origin.
DARWIN = sys.platform == "darwin"
LIB_DEV = "libtrit.dylib" if DARWIN else "libtrit.so"
LIB_ABI = "libtrit.0.dylib" if DARWIN else "libtrit.so.0"
ORIGIN = "@loader_path" if DARWIN else "$ORIGIN"

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED_MODEL = "trit-bundled-i2_s.gguf"
# what `swift build` needs, copied into the sdist beside setup.py (the tests target must exist for
# SwiftPM to read Package.swift)
SOURCE_TREE = ["Package.swift", "Sources", "Include", os.path.join("Models", BUNDLED_MODEL),
               os.path.join("Tests", "TritTests")]  # LICENSE comes with license_files
# the limited API of CPython 3.11 (Py_buffer is in it from 3.11): one abi3 wheel for 3.11 and later
LIMITED_API = sys.version_info >= (3, 11)


def trit_root():
    """The trit checkout (or unpacked sdist) holding Package.swift and Include/trit.h."""
    root = os.environ.get("TRIT_ROOT")
    if root:
        return os.path.abspath(root)
    d = HERE
    for _ in range(3):
        if os.path.exists(os.path.join(d, "Package.swift")) and os.path.exists(os.path.join(d, "Include", "trit.h")):
            return d
        d = os.path.dirname(d)
    raise RuntimeError(f"cannot find the trit sources (Package.swift and Include/trit.h) at or above {HERE}; "
                       "set TRIT_ROOT to a trit checkout")


def library_version(root):
    header = open(os.path.join(root, "Include", "trit.h"), encoding="utf-8").read()
    parts = [re.search(rf"#define TRIT_VERSION_{p} (\d+)", header) for p in ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        raise RuntimeError("Include/trit.h lacks TRIT_VERSION_MAJOR/MINOR/PATCH")
    return ".".join(m.group(1) for m in parts)


def swift_build(root):
    """libtrit.so from `swift build -c release` (Package.swift links the Swift runtime statically)."""
    if shutil.which("swift") is None:
        raise RuntimeError("building trit from source needs Swift 6 on the PATH (https://swift.org/install), "
                           "and it was not found. Install the prebuilt wheel instead (pip install trit-*.whl, "
                           "made by `make wheel` in a trit checkout), or point TRIT_LIB at a built libtrit.so.0.")
    scratch = os.environ.get("TRIT_SCRATCH", os.path.join(root, ".build"))
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "trit", "--scratch-path", scratch], cwd=root)
    return os.path.join(scratch, "release", LIB_DEV)


class BuildWithLibrary(build_ext):
    def run(self):
        root = trit_root()
        lib = os.environ.get("TRIT_LIB") or swift_build(root)
        if not os.path.exists(lib):
            raise RuntimeError(f"TRIT_LIB={lib}: no such file")
        model = os.path.join(root, "Models", BUNDLED_MODEL)
        # the package as a prefix: lib/ and share/trit/, as `make install` lays out PREFIX
        for dest in (os.path.join(self.build_lib, "trit"), os.path.join(HERE, "trit")):  # wheel, in-place use
            os.makedirs(os.path.join(dest, "lib"), exist_ok=True)
            os.makedirs(os.path.join(dest, "share", "trit"), exist_ok=True)
            shutil.copy2(lib, os.path.join(dest, "lib", LIB_ABI))  # the SONAME the extension records
            shutil.copy2(model, os.path.join(dest, "share", "trit", BUNDLED_MODEL))
        for ext in self.extensions:
            ext.include_dirs.append(os.path.join(root, "Include"))
            # link against the SONAME's file through a private folder holding libtrit.so
            linkdir = os.path.join(self.build_temp, "trit-link")
            os.makedirs(linkdir, exist_ok=True)
            shutil.copy2(lib, os.path.join(linkdir, LIB_DEV))
            ext.library_dirs.append(linkdir)
            ext.depends.append(os.path.join(root, "Include", "trit.h"))
        super().run()

    def build_extensions(self):
        # the interpreter's own link flags can carry an rpath into its prefix (pyenv does): the extension
        # must find only its package's lib/ ($ORIGIN/lib)
        self.compiler.linker_so = [a for a in self.compiler.linker_so
                                   if not a.startswith("-Wl,-rpath") or ORIGIN in a]
        super().build_extensions()


class SdistWithSources(sdist):
    """The sdist carries the Swift sources beside setup.py, so it builds where Swift 6 is present."""
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = trit_root()
        for rel in SOURCE_TREE:
            src, dst = os.path.join(root, rel), os.path.join(base_dir, rel)
            if os.path.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.o", ".build*"))
            else:
                os.makedirs(os.path.dirname(dst) or base_dir, exist_ok=True)
                shutil.copy2(src, dst)


ROOT = trit_root()
bdist_options = {"bdist_wheel": {"py_limited_api": "cp311"}} if LIMITED_API else {}

setup(
    name="trit",
    version=library_version(ROOT),
    description="Run BitNet b1.58 ternary language models on a CPU",
    license="MIT",
    license_files=["LICENSE"],
    packages=["trit", "trit.openai_api", "trit.server"],
    # the OpenAI-compatible server: the stack llama-cpp-python's server uses
    extras_require={
        # OpenAI-shaped chat / completions in Python (Model.create_chat_completion; the model's Jinja chat template)
        "chat": ["jinja2>=3.1", "pydantic>=2"],
        "server": ["fastapi>=0.110", "uvicorn>=0.27", "sse-starlette>=2.0", "prometheus-client>=0.20", "pydantic>=2",
                   "jinja2>=3.1"],
        "ray": ["ray[serve]>=2.9", "fastapi>=0.110", "uvicorn>=0.27", "sse-starlette>=2.0", "prometheus-client>=0.20",
                "pydantic>=2", "jinja2>=3.1"],
        "test": ["pytest>=7", "openai>=1.30", "httpx>=0.27", "jsonschema>=4"],
        # constrained generation (json_schema=, regex=, grammar=; the server's response_format)
        "structured": ["llguidance>=1.0"],
    },
    entry_points={"console_scripts": ["trit-server=trit.server.__main__:main"]},
    package_data={"trit": ["py.typed", "__init__.pyi"]},
    ext_modules=[Extension("trit._trit", sources=["src/_trit.c"], depends=["src/limited_api.h"], libraries=["trit"],
                           define_macros=[("Py_LIMITED_API", "0x030B0000")] if LIMITED_API else [],
                           py_limited_api=LIMITED_API,
                           # a function outside the limited API is undeclared there: an error, not a lazy symbol
                           extra_compile_args=["-Werror=implicit-function-declaration",
                                               "-Werror=incompatible-pointer-types"],
                           extra_link_args=[f"-Wl,-rpath,{ORIGIN}/lib"])],
    cmdclass={"build_ext": BuildWithLibrary, "sdist": SdistWithSources},
    options=bdist_options,
    python_requires=">=3.9",
)
