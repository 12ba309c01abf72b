#!/usr/bin/env bash
# Creates (once) the Python virtualenv with the OASIS tools the tests use, and prints its path
# on the last line of stdout:
# - stix2-validator: `stix2_validator --strict --version 2.1 FILE` checks every STIX object
#   iocflow emits (normalizer feature `stix-validator`);
# - medallion (TAXII 2.1 server) and taxii2-client, the platform stand-ins for later tests.
#
# The venv lives at ${IOCFLOW_VENV:-$HOME/.cache/iocflow/venv}. Packages come from PyPI and are
# installed only when missing, so running it again is quick and changes nothing.
set -euo pipefail

VENV="${IOCFLOW_VENV:-$HOME/.cache/iocflow/venv}"
PYTHON="${PYTHON:-python3}"

# Pinned requirement and the module that proves it is installed (versions the tests were
# written against; change them together with the tests).
PACKAGES=(
    "stix2-validator==3.3.2:stix2validator"
    "medallion==3.0.0:medallion"
    "taxii2-client==2.3.0:taxii2client"
)

if [ ! -x "$VENV/bin/python" ]; then
    echo "python-tools.sh: creating the virtualenv $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

missing=()
for entry in "${PACKAGES[@]}"; do
    dist="${entry%%:*}"
    module="${entry##*:}"
    if ! "$VENV/bin/python" -c "import $module" >/dev/null 2>&1; then
        missing+=("$dist")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "python-tools.sh: installing ${missing[*]} from PyPI" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi

if [ ! -x "$VENV/bin/stix2_validator" ]; then
    echo "python-tools.sh: $VENV/bin/stix2_validator is missing after the install" >&2
    exit 1
fi

echo "$VENV"
