#!/usr/bin/env bash
# Filtered search side by side with pgvector 0.8.6 (see bench_filter.py):
#   bash scripts/bench_filter.sh
#   BENCH_INSTALL=1 builds and installs the extension first.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_side_by_side_bench bench_filter.py
