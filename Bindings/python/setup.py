"""Builds trit._trit: runs `swift build -c release` in the trit checkout, copies libtrit.so into
the package and links the extension against it with an $ORIGIN rpath."""
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def trit_root():
    root = os.environ.get("TRIT_ROOT")
    if root:
        return root
    d = HERE
    for _ in range(4):
        if os.path.exists(os.path.join(d, "Package.swift")) and os.path.exists(os.path.join(d, "Include", "trit.h")):
            return d
        d = os.path.dirname(d)
    raise RuntimeError("cannot find the trit checkout (set TRIT_ROOT)")


class BuildWithSwift(build_ext):
    def run(self):
        root = trit_root()
        scratch = os.environ.get("TRIT_SCRATCH", os.path.join(root, ".build"))
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "trit", "--scratch-path", scratch,
                               "-Xswiftc", "-static-stdlib"], cwd=root)
        lib = os.path.join(scratch, "release", "libtrit.so")
        os.makedirs(os.path.join(self.build_lib, "trit"), exist_ok=True)
        # the extension records the SONAME libtrit.so.0 and finds it next to itself ($ORIGIN)
        shutil.copy2(lib, os.path.join(self.build_lib, "trit", "libtrit.so.0"))
        shutil.copy2(lib, os.path.join(HERE, "trit", "libtrit.so.0"))  # for in-place/editable use
        for ext in self.extensions:
            ext.include_dirs.append(os.path.join(root, "Include"))
            ext.library_dirs.append(os.path.dirname(lib))
        super().run()


setup(
    name="trit",
    version="0.1.0",
    description="Run BitNet b1.58 ternary language models on a CPU",
    packages=["trit", "trit.server"],
    # the OpenAI-compatible server: the stack llama-cpp-python's server uses
    extras_require={
        "server": ["fastapi>=0.110", "uvicorn>=0.27", "sse-starlette>=2.0", "prometheus-client>=0.20", "pydantic>=2"],
        "ray": ["ray[serve]>=2.9", "fastapi>=0.110", "uvicorn>=0.27", "sse-starlette>=2.0", "prometheus-client>=0.20"],
        "test": ["pytest>=7", "openai>=1.30", "httpx>=0.27", "jsonschema>=4"],
        # constrained generation (json_schema=, regex=, grammar=; the server's response_format)
        "structured": ["llguidance>=1.0"],
    },
    entry_points={"console_scripts": ["trit-server=trit.server.__main__:main"]},
    package_data={"trit": ["libtrit.so.0", "py.typed", "__init__.pyi"]},
    # depends: a change of trit.h (its inline defaults, its structs) rebuilds the extension
    ext_modules=[Extension("trit._trit", sources=["src/_trit.c"], libraries=["trit"],
                           depends=[os.path.join(HERE, "..", "..", "Include", "trit.h")],
                           extra_link_args=["-Wl,-rpath,$ORIGIN"])],
    cmdclass={"build_ext": BuildWithSwift},
    python_requires=">=3.9",
)
