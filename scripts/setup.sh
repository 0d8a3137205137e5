#!/usr/bin/env bash
# Installs everything Atelier needs on a fresh Debian machine (run as root): libtorch with the
# pthread OpenBLAS (without it libtorch falls back to the reference BLAS at about half speed), Gloo's
# headers (libgloo-dev: the addon's c10d collectives for data-parallel training),
# Fashion-MNIST (the embedded default data), Chromium (the web page's browser test drives it
# through playwright-core; no browser is downloaded), Python's NumPy and Pillow (scripts/paper-fixture.py
# writes the tests' files in the layout of the authors' .npy), then the npm packages, which builds the
# addon. Afterwards `npx atelier …` works in the checkout (package.json's bin).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
for p in libtorch-dev libopenblas0-pthread libgloo-dev dataset-fashion-mnist chromium python3-numpy python3-pil; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
npm ci --no-audit --no-fund   # its install script builds native/ against libtorch
