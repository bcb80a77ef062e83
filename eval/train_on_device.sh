#!/usr/bin/env bash
# On the GPU machine: several stage-2 runs side by side on one GPU, from a folder that
# `eval/train_on_device.py pack FOLDER ...` filled here. Each run is NAME:EXAMPLES:SEED:EPOCHS,
# EXAMPLES naming FOLDER/examples-EXAMPLES.json.gz. Logs go to $OUT/logs.txt with a ranking by
# train_reader's own measure (v2.0 dev gold, refused at the 80 % cut); the KEEP best files come
# back split in 12 MB parts (the device returns files of at most 16 MB):
#   bash eval/train_on_device.sh .gpu s13e3:13:13:3 s14e3:14:14:3      # as run there
#   cat NAME.part0* > NAME.safetensors                                  # here, afterwards
set -uo pipefail
folder=$1; shift
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
logs=$(mktemp -d); weights=$(mktemp -d)
for run in "$@"; do
  IFS=: read -r name examples seed epochs <<< "$run"
  timeout "${LIMIT:-400}" python3 eval/train_on_device.py train "$folder" -- \
    --init "$folder/stage1.safetensors" --examples "$folder/examples-$examples.json.gz" \
    --seed "$seed" --made-epochs "$epochs" --device cuda --threads 2 \
    --out "$weights/$name.safetensors" > "$logs/log-$name.txt" 2>&1 &
done
wait
cd "$logs"
grep -H "^kept epoch" log-*.txt \
  | sed 's/log-\(.*\)\.txt:kept epoch \([0-9]*\).*: \([0-9.]*\) %).*/\3 \1 \2/' \
  | sort -rn > ranking.txt
for f in ranking.txt log-*.txt; do echo "=== $f"; cat "$f"; done > "$OUT/logs.txt"
cat ranking.txt
for name in $(head -"${KEEP:-2}" ranking.txt | awk '{print $2}'); do
  (cd "$weights" && sha256sum "$name.safetensors") | tee -a "$OUT/logs.txt"
  split -b 12M -d "$weights/$name.safetensors" "$OUT/$name.part"
done
