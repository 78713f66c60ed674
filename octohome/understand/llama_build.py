"""Which llama.cpp build fits this CPU: the CMake flags setup.sh builds llama-cpp-python with.

Why not llama.cpp's default (``GGML_NATIVE=ON``, i.e. ``-march=native``): on an
x86-64 Xeon with AVX-512 and AMX the native build crashed with SIGSEGV in
``llama_decode`` on the first evaluation, for the shipped model and the plain
base alike, while the same source built with ``GGML_NATIVE=OFF`` (the AVX2 code
path) ran. ``-march=native`` there switches on AVX-512 kernels and llama.cpp's
AMX weight repacking (``__AMX_INT8__``), both absent from every machine the
project was tested on; which one crashes could not be isolated on the machines
at hand (none has AVX-512 or AMX). So each profile names the instruction sets
it uses explicitly, and AVX-512/AMX are never among them.

Why not ``GGML_BACKEND_DL`` + ``GGML_CPU_ALL_VARIANTS`` (what llama.cpp's
release binaries do): it compiles the CPU backend once per variant (11 on
x86-64) for a single machine, and on the crashing Xeon its dispatcher would
pick the ``sapphirerapids`` variant, AVX-512 and AMX included: the suspect.

The profiles are tiers, best first. ``setup.sh`` builds tier 0; when the
install-time self-check (``octohome model check``) sees the child process die
of a signal, it rebuilds with the next tier. Each tier's flags go into the
name of the wheel directory, so a wheel built for other flags is never reused.

This file is run by ``setup.sh`` with the system Python before octohome is
installed: it imports only the standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

LLAMA_CPP_PYTHON = "0.3.36"
"""The llama-cpp-python release built (pinned in pyproject.toml too)."""

COMMON = ("-DLLAVA_BUILD=OFF", "-DGGML_NATIVE=OFF", "-DLLAMA_BUILD_TESTS=OFF")
"""Every tier: no multimodal tool, no -march=native, no test programs."""

X86_OFF = (
    "-DGGML_AVX512=OFF", "-DGGML_AVX512_VBMI=OFF", "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF", "-DGGML_AVX_VNNI=OFF",
)
"""Never on x86-64: the instruction sets of the native build that crashed."""


@dataclass(frozen=True)
class Profile:
    """One way to build llama.cpp for this machine."""

    name: str
    """Short name, as in llama.cpp's CPU variants (``haswell``) or the ARM arch."""

    needs: frozenset[str]
    """CPU feature flags (``/proc/cpuinfo`` names) the build's code requires."""

    cmake_args: tuple[str, ...]
    """Passed as ``CMAKE_ARGS`` to the llama-cpp-python build."""

    @property
    def key(self) -> str:
        """Names the wheel: version and flags, so other flags never reuse it."""
        text = " ".join((LLAMA_CPP_PYTHON, *self.cmake_args))
        return f"{self.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _x86(name: str, on: tuple[str, ...], needs: tuple[str, ...]) -> Profile:
    flags = ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2")
    args = [f"-DGGML_{f}={'ON' if f in on else 'OFF'}" for f in flags]
    return Profile(name, frozenset(needs), (*COMMON, *args, *X86_OFF))


X86_PROFILES = (
    _x86("haswell", ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"),
         ("sse4_2", "avx", "f16c", "fma", "avx2", "bmi2")),
    _x86("sandybridge", ("SSE42", "AVX"), ("sse4_2", "avx")),
    _x86("sse42", ("SSE42",), ("sse4_2",)),
    _x86("x86-64", (), ()),
)
"""x86-64 tiers, fastest first (llama.cpp's variant names for the same flag sets)."""

ARM_PROFILES = (
    Profile("armv8.2-a+dotprod+fp16", frozenset({"asimddp", "asimdhp"}),
            (*COMMON, "-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16")),
    Profile("armv8.2-a+dotprod", frozenset({"asimddp"}),
            (*COMMON, "-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod")),
    Profile("armv8-a", frozenset(), (*COMMON, "-DGGML_CPU_ARM_ARCH=armv8-a")),
)
"""aarch64 tiers: Raspberry Pi 5 (Cortex-A76) has dotprod and fp16, a Pi 4 (A72) neither."""

GENERIC = Profile("generic", frozenset(), COMMON)
"""Any other architecture: the compiler's defaults for it."""


def cpu_features(cpuinfo: str) -> set[str]:
    """The feature flags of the first CPU in a ``/proc/cpuinfo`` text (x86 ``flags``,
    ARM ``Features``)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def profiles(machine: str, features: set[str]) -> list[Profile]:
    """Every tier this CPU can run, best first; the last one is the most portable."""
    machine = machine.lower()
    table: tuple[Profile, ...]
    if machine in ("x86_64", "amd64"):
        table = X86_PROFILES
    elif machine in ("aarch64", "arm64"):
        table = ARM_PROFILES
    else:
        return [GENERIC]
    return [p for p in table if p.needs <= features]


def this_machine() -> list[Profile]:
    """The tiers for the CPU this runs on."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    return profiles(platform.machine(), cpu_features(text))


def main(argv: list[str] | None = None) -> int:
    """``python3 llama_build.py {cmake-args,name,key,tiers} [--tier N]`` for setup.sh."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["cmake-args", "name", "key", "tiers", "version"])
    ap.add_argument("--tier", type=int, default=0, help="0 = best for this CPU")
    args = ap.parse_args(argv)
    tiers = this_machine()
    if args.what == "tiers":
        print(len(tiers))
        return 0
    if args.what == "version":
        print(LLAMA_CPP_PYTHON)
        return 0
    if not 0 <= args.tier < len(tiers):
        print(f"no build tier {args.tier}: this CPU has {len(tiers)}", file=sys.stderr)
        return 2
    p = tiers[args.tier]
    print({"cmake-args": " ".join(p.cmake_args), "name": p.name, "key": p.key}[args.what])
    return 0


if __name__ == "__main__":
    sys.exit(main())
