#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: `fuzz/run.sh [SECONDS_PER_TARGET]` (default 30).
# Fails on the first crash, leak, timeout or memory blow-up; the input that found it is left
# in fuzz/artifacts/TARGET/. Each target starts from its committed seeds (fuzz/seeds/TARGET)
# and the working corpus (fuzz/corpus/TARGET, not committed), and adds what it finds to the
# latter.
#
# -rss_limit_mb is far above what a target needs with the limits it sets, so that only a
# real blow-up trips it; -timeout bounds one input at 10 s (a hang).
#
# cargo-fuzz is installed from crates.io when missing. libFuzzer and the address sanitizer
# need unstable compiler flags: the nightly toolchain is used where rustup has one, else the
# stable toolchain with RUSTC_BOOTSTRAP=1, which admits the same flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

"${fuzz[@]}" build
for target in $("${fuzz[@]}" list); do
    mkdir -p "corpus/$target"
    echo "== fuzz $target (${seconds} s)"
    log="$(mktemp)"
    status=0
    "${fuzz[@]}" run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done )' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    rm -f "$log"
done
