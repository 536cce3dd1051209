#!/usr/bin/env bash
# Start-up figures of the bin (not a test; CI does not run it): median of 5
# wall seconds of `--version`, `list`, `build -n cluster`, and a no-op and a
# dry run of a 1,000-target graph (one input file each, in a temp dir), with
# the 1-minute load average after each. Usage: bench/startup.sh [CHECKOUT]
# (default: this one). PHAROS_SOURCE=1 measures the source through tsx.
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=$tmp/p1000
mkdir -p "$p/src"
echo '{"type":"module"}' >"$p/package.json"
for i in $(seq 0 999); do echo "$i" >"$p/src/f$i.txt"; done
touch -d '-1 hour' "$p"/src/*
cat >"$p/pharos.build.ts" <<TS
import { target, alias, type Target } from '$repo/lib/graph/index.ts';
export default () => {
  const ts: Target<unknown>[] = [];
  for (let i = 0; i < 1000; i++) {
    const deps: Record<string, Target<unknown>> = i >= 10 ? { p: ts[i - 10]! } : {};
    ts.push(target({ name: 't' + i, inputs: ['src/f' + i + '.txt'], deps, run: async () => i }));
  }
  return { targets: ts, aliases: [alias('all', ts)] };
};
TS
(cd "$p" && node "$repo/bin/pharos.js" build all >/dev/null 2>&1)
median() {
  local ts=()
  for _ in 1 2 3 4 5; do
    /usr/bin/time -o "$tmp/t" -f %e "$@" >/dev/null 2>&1 || true
    ts+=("$(tail -1 "$tmp/t")")
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}
row() { local dir=$1 name=$2; shift 2; printf '%-22s %6ss  load %s\n' "$name" "$(cd "$dir" && median "$@")" "$(cut -d' ' -f1 /proc/loadavg)"; }
row "$repo" '--version' node "$repo/bin/pharos.js" --version
row "$repo" 'list' node "$repo/bin/pharos.js" list
row "$repo" 'build -n cluster' node "$repo/bin/pharos.js" build -n cluster
row "$p" 'no-op, 1,000 targets' node "$repo/bin/pharos.js" build all
row "$p" '-n, 1,000 targets' node "$repo/bin/pharos.js" build -n all
