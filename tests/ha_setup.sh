#!/usr/bin/env bash
# A real Home Assistant for the tests: Home Assistant core from PyPI, in its own
# virtual environment (.ha/venv, gitignored), apart from the project's .venv.
#
#   tests/ha_setup.sh          install (idempotent: a stamp holds the version)
#
# Why its own venv: Home Assistant pins ~80 packages exactly (aiohttp, pydantic,
# cryptography, ...) and needs Python >= 3.13 for the release pinned here, while
# octohome runs on 3.11. The tests only talk to it over its WebSocket API, as
# octohome does to a user's Home Assistant, so nothing of it is imported.
#
# Why this release: the floor registry (2024.4) and homeassistant/expose_entity/list
# (2023.x) exist, and it is the newest release whose Python floor (3.13.0) the
# pyenv on this image has. Python: $OCTOHOME_HA_PYTHON, else python3.13 from
# pyenv or PATH. With none, it says so and exits 0: the tests that need Home
# Assistant then skip with that reason (tests/homeassistant_server.py).
#
# What a test run needs besides core: the requirements of the integrations the
# test configuration loads (http, websocket_api, template, input_*, ...), all
# installed here, so Home Assistant starts with --skip-pip and never reaches for
# the network at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

HA_VERSION="2025.4.4"
HA_DIR="${OCTOHOME_HA_DIR:-.ha}"
VENV="$HA_DIR/venv"
STAMP="$VENV/.octohome-ha"
say() { printf '\033[1m==> [ha] %s\033[0m\n' "$*" >&2; }

find_python() {
    local cand
    for cand in "${OCTOHOME_HA_PYTHON:-}" /root/.pyenv/versions/3.13*/bin/python3.13 \
                "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 python3.13; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c 'import sys, venv; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

want="$HA_VERSION $(sha256sum tests/ha_setup.sh | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/hass" ]; then
    say "Home Assistant $HA_VERSION already installed in $VENV"
    exit 0
fi

if ! PYTHON=$(find_python); then
    say "no Python >= 3.13 found (set OCTOHOME_HA_PYTHON): tests with a real Home Assistant will skip"
    exit 0
fi

start=$(date +%s)
say "installing Home Assistant $HA_VERSION into $VENV ($("$PYTHON" --version), a few minutes, once)"
rm -rf "$VENV"
mkdir -p "$HA_DIR"
"$PYTHON" -m venv "$VENV"
pip_install() {
    # this machine's pip config may name local indexes that do not exist: not news
    "$VENV/bin/python" -m pip install -q "$@" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
}
pip_install --upgrade pip
say "pip install homeassistant==$HA_VERSION"
pip_install "homeassistant==$HA_VERSION"
# The requirements of the integrations the test home loads that core does not
# install itself, read from their manifests (so they follow the pinned release):
# the frontend (without it Home Assistant starts in recovery mode); template,
# generic_thermostat, universal, kitchen_sink, input_* need none.
reqs=$("$VENV/bin/python" - <<'PY'
import json, pathlib, homeassistant.components as c
root = pathlib.Path(c.__path__[0])
for name in ("frontend", "template", "generic_thermostat", "universal", "kitchen_sink",
             "input_boolean", "input_number", "scene", "config", "websocket_api"):
    print(*json.loads((root / name / "manifest.json").read_text()).get("requirements", []))
PY
)
say "pip install the test home's integration requirements: $(echo $reqs)"
# shellcheck disable=SC2086
pip_install $reqs
"$VENV/bin/python" -c 'import hass_frontend' \
    || { say "home-assistant-frontend did not install"; exit 1; }
echo "$want" > "$STAMP"
say "Home Assistant $HA_VERSION installed in $(( $(date +%s) - start )) s"
