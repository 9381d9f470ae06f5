#!/usr/bin/env bash
# Kept for existing docs and habits: fuzzes the GGUF reader, see run_fuzz.sh.
#   bash tools/fuzz/run_gguf_fuzz.sh [SECONDS]
exec bash "$(dirname "$0")/run_fuzz.sh" gguf "$@"
