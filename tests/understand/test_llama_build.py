"""The llama.cpp build profiles: flags chosen from the CPU's own feature list, never native."""

from __future__ import annotations

import subprocess
import sys

import pytest

from octohome.understand import llama_build as lb

XEON_AMX = ("fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi1 bmi2 avx512f avx512dq"
            " avx512bw avx512vl avx512_vnni avx512_bf16 avx512vbmi amx_tile amx_int8 amx_bf16")
EPYC_ZEN3 = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi1 bmi2 sha_ni vaes"
OLD_ATOM = "fpu sse sse2 ssse3 sse4_1 sse4_2"
PI5 = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc"
       " dcpop asimddp")
PI4 = "fp asimd evtstrm crc32 cpuid"


@pytest.mark.parametrize(
    ("machine", "cpuinfo", "best", "last"),
    [
        ("x86_64", f"processor\t: 0\nflags\t\t: {XEON_AMX}\n", "haswell", "x86-64"),
        ("x86_64", f"flags\t\t: {EPYC_ZEN3}\n", "haswell", "x86-64"),
        ("x86_64", f"flags\t\t: {OLD_ATOM}\n", "sse42", "x86-64"),
        ("aarch64", f"Features\t: {PI5}\n", "armv8.2-a+dotprod+fp16", "armv8-a"),
        ("aarch64", f"Features\t: {PI4}\n", "armv8-a", "armv8-a"),
        ("riscv64", "isa\t: rv64imafdc\n", "generic", "generic"),
    ],
)
def test_tiers_follow_the_cpu(machine: str, cpuinfo: str, best: str, last: str) -> None:
    tiers = lb.profiles(machine, lb.cpu_features(cpuinfo))
    assert tiers[0].name == best
    assert tiers[-1].name == last
    for p in tiers:
        assert "-DGGML_NATIVE=OFF" in p.cmake_args, "never -march=native"
        assert p.needs <= lb.cpu_features(cpuinfo), "a tier never needs what the CPU lacks"


def test_avx512_and_amx_are_never_built_even_where_the_cpu_has_them() -> None:
    for p in lb.profiles("x86_64", lb.cpu_features(f"flags: {XEON_AMX}")):
        on = {a for a in p.cmake_args if a.endswith("=ON")}
        assert not any("AVX512" in a or "AMX" in a or "VNNI" in a for a in on), on
        assert "-DGGML_AMX_INT8=OFF" in p.cmake_args


def test_the_wheel_key_changes_with_the_flags() -> None:
    keys = {p.key for p in lb.X86_PROFILES + lb.ARM_PROFILES}
    assert len(keys) == len(lb.X86_PROFILES) + len(lb.ARM_PROFILES)
    assert all(k.startswith(p.name) for k, p in zip(
        [p.key for p in lb.X86_PROFILES], lb.X86_PROFILES, strict=True))


def test_setup_runs_it_with_a_bare_python() -> None:
    """setup.sh calls the file by path before octohome is installed: stdlib only."""
    out = subprocess.run(
        [sys.executable, "-S", "-I", lb.__file__, "cmake-args"],
        capture_output=True, text=True, check=True,
    )
    assert "-DGGML_NATIVE=OFF" in out.stdout
    bad = subprocess.run([sys.executable, lb.__file__, "name", "--tier", "99"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "no build tier 99" in bad.stderr
