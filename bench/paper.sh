#!/usr/bin/env bash
# Reproduce the paper's recommendation table on the authors' own released file:
#
#   bash bench/paper.sh AmazonFashion6ImgPartitioned.npy [out-folder]
#
# 1. ingest the .npy (their split and every item kept; 224 px, the paper's CNN-F input);
# 2. DVBPR with the paper preset (on a GPU when this Atelier has `--device`, see below);
# 3. the baselines, tuned as in bench/results/recommend.md;
# 4. the table: full AUC and the released code's sampled AUC (100 negatives per test row) side by side.
#
# Settings through the environment: PRESET (paper), IMAGE_SIZE (224), DEVICE (cuda when the
# commands take --device; otherwise they run on the CPU, which at 224 px takes days for Amazon
# Fashion), EPOCHS (the preset's), EXTRA (more flags for train dvbpr, e.g. "--k 100" as the released code).
# Every step resumes: run the script again after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
npy=${1:?usage: bash bench/paper.sh <file.npy> [out-folder]}
out=${2:-runs/paper}
preset=${PRESET:-paper}
size=${IMAGE_SIZE:-224}
mkdir -p "$out"
atelier() { node bin/atelier.js "$@"; }

device=()
if atelier train dvbpr --help | grep -q -- '--device'; then
  device=(--device "${DEVICE:-auto}")
else
  echo "note: this Atelier trains on the CPU (no --device yet): expect days at ${size} px" >&2
fi
epochs=()
[[ -n "${EPOCHS:-}" ]] && epochs=(--epochs "$EPOCHS")

if [[ ! -f "$out/data/manifest.json" ]]; then
  atelier ingest paper "$npy" --out "$out/data" --image-size "$size"
fi
resume() { [[ -f "$1/checkpoint.json" ]] && echo --resume || true; }
if [[ ! -f "$out/dvbpr/weights.safetensors" ]]; then
  # shellcheck disable=SC2046,SC2086
  atelier train dvbpr --data "$out/data" --out "$out/dvbpr" --preset "$preset" "${device[@]}" "${epochs[@]}" $(resume "$out/dvbpr") ${EXTRA:-}
fi
if [[ ! -f "$out/baselines/vbpr/manifest.json" ]]; then
  # shellcheck disable=SC2046
  atelier train baselines --data "$out/data" --out "$out/baselines" --preset "$preset" "${epochs[@]}" $(compgen -G "$out/baselines/*/checkpoint.json" >/dev/null && echo --resume)
fi
atelier evaluate --data "$out/data" --runs "$out/dvbpr" "$out"/baselines/* --markdown "$out/table.md"
echo "the table: $out/table.md (AUC = full AUC over every unbought item; sampled = the released code's 100 negatives)"
