"""Builds the `upline` package: the facade in upline/ plus the compiled module upline._upline.

The module is _upline.cpp compiled together with the library's sources (the src/*.cpp and
src/store/*.cpp that CMakeLists.txt lists in `add_library(upline STATIC …)`) and the two files
CMake generates, which this file generates the same way (configure_file @ONLY), into the build
directory: the bundled-plans source from src/bundled_plans.cpp.in, and the header
upline/version.h from cmake/version.h.in. It builds from a checkout of the repository only (it
needs ../../include, ../../src and ../../cmake), offline:

    /usr/bin/python3 -m pip install --no-build-isolation --break-system-packages ./bindings/python

Needs: a C++20 compiler, pybind11 (python3-pybind11), Boost, nlohmann-json, fmt, simdjson and
OpenSSL (libcrypto) development files (see .ci/setup). Metadata is in pyproject.toml; the version
is the one place CMakeLists.txt defines it, `project(upline VERSION x.y.z …)`.
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


CMAKELISTS = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")


def cmake_library() -> tuple[list[str], dict[str, str]]:
    """What CMakeLists.txt compiles into upline::upline, read from it so that this file never
    drifts from it: the sources of `add_library(upline STATIC …)` — every argument that is a path
    under src/ ending in .cpp, in any subdirectory (src/plan.cpp, src/store/journal.cpp) — and for
    the generated bundled_plans.cpp the `file(READ ${PROJECT_SOURCE_DIR}/PATH VAR)` lines whose
    VARs configure_file(src/bundled_plans.cpp.in …) substitutes."""
    block = re.search(r"add_library\(upline STATIC\b(.*?)\)", CMAKELISTS, re.S)
    if not block or "generated/bundled_plans.cpp" not in block.group(1):
        raise SystemExit("setup.py: cannot find add_library(upline STATIC … generated/bundled_plans.cpp) in CMakeLists.txt")
    # The arguments are separated by whitespace; a source is one that starts with src/ (the
    # generated file starts with ${PROJECT_BINARY_DIR}/).
    sources = [arg for arg in block.group(1).split() if re.fullmatch(r"src/(?:[\w.-]+/)*[\w.-]+\.cpp", arg)]
    bundled = {var: path for path, var in re.findall(r"file\(READ \$\{PROJECT_SOURCE_DIR\}/(\S+)\s+(\w+)\)", CMAKELISTS)}
    if not sources or not bundled:
        raise SystemExit("setup.py: cannot read the library's sources or bundled files from CMakeLists.txt")
    missing = [s for s in sources if not (ROOT / s).is_file()]
    if missing:
        raise SystemExit(f"setup.py: CMakeLists.txt names sources that do not exist: {', '.join(missing)}")
    return sources, bundled


LIBRARY_SOURCES, BUNDLED = cmake_library()


def cmake_version() -> dict[str, str]:
    """The variables configure_file(cmake/version.h.in …) substitutes, from the one place the
    version is defined: `project(upline VERSION x.y.z` in CMakeLists.txt."""
    m = re.search(r"project\(\s*upline\s+VERSION\s+(\d+)\.(\d+)\.(\d+)\b", CMAKELISTS)
    if not m:
        raise SystemExit("setup.py: cannot find project(upline VERSION x.y.z …) in CMakeLists.txt")
    major, minor, patch = m.groups()
    return {"PROJECT_VERSION": f"{major}.{minor}.{patch}", "PROJECT_VERSION_MAJOR": major,
            "PROJECT_VERSION_MINOR": minor, "PROJECT_VERSION_PATCH": patch}


VERSION = cmake_version()


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
    """build_ext that first generates bundled_plans.cpp and upline/version.h into the build
    directory, as CMake does into its own."""

    def build_extensions(self) -> None:
        generated = Path(self.build_temp).resolve() / "generated"
        bundled = generated / "bundled_plans.cpp"
        configure(ROOT / "src" / "bundled_plans.cpp.in", bundled,
                  {name: (ROOT / path).read_text(encoding="utf-8") for name, path in BUNDLED.items()})
        configure(ROOT / "cmake" / "version.h.in", generated / "include" / "upline" / "version.h", VERSION)
        for ext in self.extensions:
            if str(bundled) not in ext.sources:
                ext.sources.append(str(bundled))
            if str(generated / "include") not in ext.include_dirs:
                ext.include_dirs.append(str(generated / "include"))
            # Rebuild when the plan, the version or a header changes, not only a source.
            ext.depends += [str(ROOT / path) for path in BUNDLED.values()]
            ext.depends += [str(ROOT / "CMakeLists.txt"), str(ROOT / "cmake" / "version.h.in")]
            ext.depends += [str(p) for p in sorted((ROOT / "include" / "upline").glob("*.hpp"))]
            ext.depends += [str(p) for p in sorted((ROOT / "src").rglob("*.hpp"))]
        super().build_extensions()


ext = Pybind11Extension(
    "upline._upline",
    # Absolute paths: the objects then land inside the build directory, not beside the sources.
    sources=[str(HERE / "_upline.cpp")] + [str(ROOT / s) for s in LIBRARY_SOURCES],
    include_dirs=[str(ROOT / "include"), str(ROOT / "src")],
    # What upline::upline links privately (CMakeLists.txt): the event reader's simdjson, fmt for the
    # writers, and OpenSSL's libcrypto for the digest's SHA-256 (UPLINE_WITH_OPENSSL, CMake's default).
    libraries=["simdjson", "fmt", "crypto"],
    define_macros=[("UPLINE_WITH_OPENSSL", "1")],
    cxx_std=20,
    # No debug information: the library is template-heavy (Boost.Multiprecision) and it would
    # make the module ten times larger.
    extra_compile_args=["-g0"],
)

# Compile the sources in parallel (NPY_NUM_BUILD_JOBS=N to choose; default: every core).
ParallelCompile("NPY_NUM_BUILD_JOBS", default=0).install()

setup(
    version=VERSION["PROJECT_VERSION"],
    ext_modules=[ext],
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
