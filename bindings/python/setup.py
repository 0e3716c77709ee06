"""Builds the `upline` package: the facade in upline/ plus the compiled module upline._upline.

The module is _upline.cpp compiled together with the library's sources (../../src) and the
bundled-plans source that CMake generates from src/bundled_plans.cpp.in; this file generates it
the same way (configure_file @ONLY), into the build directory. It builds from a checkout of the
repository only (it needs ../../include and ../../src), offline:

    /usr/bin/python3 -m pip install --no-build-isolation --break-system-packages ./bindings/python

Needs: a C++20 compiler, pybind11 (python3-pybind11), Boost and nlohmann-json headers (see
.ci/setup). Metadata is in pyproject.toml; the version comes from include/upline/version.hpp.
"""

from __future__ import annotations

import re
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if not (ROOT / "include" / "upline" / "engine.hpp").is_file():
    raise SystemExit(f"setup.py: {ROOT} is not an upline source tree (include/upline/engine.hpp is missing); "
                     "build the Python package from a checkout of the repository")


def cmake_library() -> tuple[list[str], dict[str, str]]:
    """What CMakeLists.txt compiles into upline::upline, read from it so that this file never
    drifts from it: the src/*.cpp of `add_library(upline STATIC …)`, and for the generated
    bundled_plans.cpp the `file(READ ${PROJECT_SOURCE_DIR}/PATH VAR)` lines whose VARs
    configure_file(src/bundled_plans.cpp.in …) substitutes."""
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    block = re.search(r"add_library\(upline STATIC\b(.*?)\)", text, re.S)
    if not block or "generated/bundled_plans.cpp" not in block.group(1):
        raise SystemExit("setup.py: cannot find add_library(upline STATIC … generated/bundled_plans.cpp) in CMakeLists.txt")
    sources = re.findall(r"(?<![\w/}])src/[\w/.-]+\.cpp\b", block.group(1))
    bundled = {var: path for path, var in re.findall(r"file\(READ \$\{PROJECT_SOURCE_DIR\}/(\S+)\s+(\w+)\)", text)}
    if not sources or not bundled:
        raise SystemExit("setup.py: cannot read the library's sources or bundled files from CMakeLists.txt")
    return sources, bundled


LIBRARY_SOURCES, BUNDLED = cmake_library()


def version() -> str:
    text = (ROOT / "include" / "upline" / "version.hpp").read_text(encoding="utf-8")
    return re.search(r'#define UPLINE_VERSION_STRING "([^"]+)"', text).group(1)


def configure(template: Path, out: Path, variables: dict[str, str]) -> None:
    """CMake's configure_file(… @ONLY): replaces each @NAME@; an unknown name is an error."""

    def value(m: re.Match[str]) -> str:
        if m.group(1) not in variables:
            raise SystemExit(f"setup.py: {template}: no value for @{m.group(1)}@")
        return variables[m.group(1)]

    text = re.sub(r"@([A-Za-z_][A-Za-z0-9_]*)@", value, template.read_text(encoding="utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists() or out.read_text(encoding="utf-8") != text:  # keep the timestamp: no needless rebuild
        out.write_text(text, encoding="utf-8")


class BuildExt(build_ext):
    """build_ext that first generates bundled_plans.cpp into the build directory."""

    def build_extensions(self) -> None:
        generated = Path(self.build_temp).resolve() / "generated" / "bundled_plans.cpp"
        configure(ROOT / "src" / "bundled_plans.cpp.in", generated,
                  {name: (ROOT / path).read_text(encoding="utf-8") for name, path in BUNDLED.items()})
        for ext in self.extensions:
            if str(generated) not in ext.sources:
                ext.sources.append(str(generated))
            # Rebuild when the plan or a header changes, not only a source.
            ext.depends += [str(ROOT / path) for path in BUNDLED.values()]
            ext.depends += [str(p) for p in sorted((ROOT / "include" / "upline").glob("*.hpp"))]
        super().build_extensions()


ext = Pybind11Extension(
    "upline._upline",
    # Absolute paths: the objects then land inside the build directory, not beside the sources.
    sources=[str(HERE / "_upline.cpp")] + [str(ROOT / s) for s in LIBRARY_SOURCES],
    include_dirs=[str(ROOT / "include"), str(ROOT / "src")],
    cxx_std=20,
    # No debug information: the library is template-heavy (Boost.Multiprecision) and it would
    # make the module ten times larger.
    extra_compile_args=["-g0"],
)

# Compile the five sources in parallel (NPY_NUM_BUILD_JOBS=N to choose; default: every core).
ParallelCompile("NPY_NUM_BUILD_JOBS", default=0).install()

setup(
    version=version(),
    ext_modules=[ext],
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
