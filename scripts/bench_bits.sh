#!/usr/bin/env bash
# Bit-string indexes side by side with pgvector 0.8.6 (see bench_bits.py):
#   bash scripts/bench_bits.sh
#   BENCH_INSTALL=1 builds and installs the extension first.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_side_by_side_bench bench_bits.py
