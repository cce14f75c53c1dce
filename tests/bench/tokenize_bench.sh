#!/bin/sh
# tokenize_bench.sh: how long `mobench tokenize` takes on 1 MiB of English
# text with each vocab of ../shared/fixtures/vocab (docs/PERFORMANCE.md).
# The text: the licence texts in /usr/share/common-licenses (plain English,
# on every Debian system), concatenated in name order and repeated until
# 1 MiB. The time includes reading the GGUF's vocabulary (one process each).
# usage: tests/bench/tokenize_bench.sh [MOBENCH] [RUNS]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/cli/mobench}
runs=${2:-5}
vocab=$here/../shared/fixtures/vocab
[ -d "$vocab" ] || { echo "tokenize_bench: $vocab absent" >&2; exit 1; }
text=$(mktemp /tmp/tokbench.XXXXXX)
trap 'rm -f "$text"' EXIT
while [ "$(wc -c < "$text")" -lt 1048576 ]; do
    cat /usr/share/common-licenses/* >> "$text"
done
head -c 1048576 "$text" > "$text.1m" && mv "$text.1m" "$text"
echo "text: $(wc -c < "$text") bytes from /usr/share/common-licenses; $runs runs each, best and median"
for v in llama-spm gpt-2 starcoder deepseek-coder falcon; do
    f=$vocab/ggml-vocab-$v.gguf
    times=""
    for i in $(seq "$runs"); do
        t0=$(date +%s.%N)
        n=$(taskset -c 0 "$bin" tokenize -m "$f" --file "$text" | wc -w)
        t1=$(date +%s.%N)
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')"
    done
    echo "$times" | tr ' ' '\n' | grep . | sort -n | awk -v v="$v" -v n="$n" '
        { a[NR] = $1 } END { printf "%-15s %8d tokens  best %.3f s  median %.3f s\n", v, n, a[1], a[int((NR + 1) / 2)] }'
done
