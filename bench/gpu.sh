#!/usr/bin/env bash
# On a GPU machine with Python's torch (CUDA), g++ and make, but no Node and no registry: builds the
# addon against that torch, runs the device tests on CUDA, then the engine bench against PyTorch on
# the same GPU, and writes bench/results/engine-cuda.json (and to $OUT when set). Needs .gpu-pack/
# from `bash scripts/gpu-pack.sh`, made beforehand where node_modules is. About 10 minutes.
#   PYTHON=python3   the Python whose torch to build against and compare with
#   LIBTORCH=...     another libtorch folder to build against (default: that torch's folder)
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.gpu-pack
PY="${PYTHON:-python3}"
say() { printf '\n== %s\n' "$*" >&2; }
[ -f "$PACK/node.tgz" ] || { echo "no $PACK/node.tgz: run 'bash scripts/gpu-pack.sh' first, where node_modules is" >&2; exit 2; }

if command -v git >/dev/null && [ -f "$PACK/COMMIT" ] && [ "$(git rev-parse HEAD 2>/dev/null)" != "$(cat "$PACK/COMMIT")" ]; then
  echo "warning: $PACK was packed at $(cat "$PACK/COMMIT"), the tree is at $(git rev-parse HEAD): its bundles may be stale (rerun scripts/gpu-pack.sh)" >&2
fi
say "node $(cat "$PACK/NODE_VERSION")"
mkdir -p "$PACK/node"
tar xzf "$PACK/node.tgz" -C "$PACK/node"
NODE="$PWD/$PACK/node/bin/node"
"$NODE" --version

say "torch"
if [ -z "${LIBTORCH:-}" ]; then
  LIBTORCH="$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
fi
export LIBTORCH
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "abi", int(torch._C._GLIBCXX_USE_CXX11_ABI))' || true
echo "LIBTORCH=$LIBTORCH"

say "addon (g++, against $LIBTORCH)"
BUILD=native/build/Release
mkdir -p "$BUILD" "$PACK/obj"
find_lt() { (cd native && "$NODE" find-libtorch.cjs "$1"); }
INC=(-I"$PACK/node/include/node" -I"$PACK/addon-api")
for d in $(find_lt include); do INC+=(-I"$d"); done
DEFS=(-DNAPI_CPP_EXCEPTIONS -DNAPI_VERSION=8)
for d in $(find_lt abi); do DEFS+=(-D"$d"); done
GLOO=(); for d in $(find_lt gloo); do GLOO+=(-D"$d"); done
CXX="${CXX:-g++}"
FLAGS=(-std=c++17 -O2 -fPIC -fexceptions -frtti -Wno-deprecated-declarations -Wno-unused-parameter)
echo "defines: ${DEFS[*]} ${GLOO[*]}"
compile() { "$CXX" "${FLAGS[@]}" "${INC[@]}" "${DEFS[@]}" "$@"; }
compile -c native/src/addon.cc -o "$PACK/obj/addon.o" &
a=$!
compile -c native/src/ops.cc -o "$PACK/obj/ops.o" &
b=$!
# c10d's headers change between torch versions: without it the addon still builds (no --nproc)
if ! compile "${GLOO[@]}" -c native/src/dist.cc -o "$PACK/obj/dist.o" 2>"$PACK/obj/dist.log"; then
  echo "dist.cc did not build against this torch's c10d (see $PACK/obj/dist.log): building it without Gloo" >&2
  compile -DATL_NO_GLOO -c native/src/dist.cc -o "$PACK/obj/dist.o"
fi
wait "$a"
wait "$b"
LIBDIR="$(find_lt libdir)"
# shellcheck disable=SC2046
"$CXX" -shared -o "$BUILD/atelier_torch.node" "$PACK"/obj/*.o -L"$LIBDIR" $(find_lt libs) -Wl,-rpath,"$LIBDIR"
"$NODE" -e "const a = require('./$BUILD/atelier_torch.node'); console.log(JSON.stringify({ torch: a.Info().torchVersion, cuda: a.Info().cuda, gpus: a.Info().gpus }))"

say "CUDA"
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "this machine's torch sees no GPU: stopping before the steps that need one" >&2
  exit 3
fi

say "device tests on cuda"
ATELIER_TEST_DEVICE=cuda MALLOC_ARENA_MAX=1 "$NODE" --test "$PACK/dist/device.test.mjs" "$PACK/dist/device-train.test.mjs"

say "engine bench on cuda (Atelier and PyTorch, the same nets)"
BENCH_PYTHON="$PY" BENCH_CASES_JS="$PWD/$PACK/dist/engine-cases.mjs" BENCH_ROUNDS="${BENCH_ROUNDS:-2}" BENCH_REPS="${BENCH_REPS:-5}" \
  MALLOC_ARENA_MAX=1 "$NODE" "$PACK/dist/gpu-engine.mjs"
if [ -n "${OUT:-}" ]; then cp bench/results/engine-cuda.json "$OUT/"; fi
