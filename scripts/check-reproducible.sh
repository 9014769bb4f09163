#!/usr/bin/env bash
# Reproducible build check (issue 14): the committed HEAD is cloned into two directories of different names
# and depths, each gets its own `npm ci`, `npm run build` (tsc → dist/, with source maps), `npm run build:app`
# (Vite → dist-app/) and scripts/pack.mjs (the npm pack tarball and the renderer tarball). Every output file
# must have the same SHA-256 in both, and none may contain the directory it was built in.
# Exit 0 identical; 1 any difference (the differing files are listed).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
commit="$(git -C "$src" rev-parse HEAD)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ceremony-repro.XXXXXX")"
trap 'rm -rf "$work"' EXIT

build() {
  local dir="$1"
  git clone --quiet --no-checkout --no-hardlinks "$src" "$dir"
  git -C "$dir" checkout --quiet --detach "$commit"
  (
    cd "$dir"
    # --ignore-scripts: nothing here needs a native addon or the Electron binary, and nothing is fetched.
    ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
    npm run --silent build >/dev/null
    npm run --silent build:app >/dev/null
    node scripts/pack.mjs --out "$dir/.pack" >/dev/null
    find dist dist-app .pack -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  )
}

one="$work/one"
two="$work/second/a-longer-directory-name"
mkdir -p "$work/second"
build "$one" >"$work/one.sha256"
build "$two" >"$work/two.sha256"

status=0
if ! diff -u "$work/one.sha256" "$work/two.sha256"; then
  echo "reproducible: FAILED: the two builds of $commit differ (files above)" >&2
  status=1
fi
# A build path inside an output (a source map's sources, a bundled module id) would also make it differ
# between machines; name the file rather than leave it to the hash comparison.
for dir in "$one" "$two"; do
  if leaks="$(cd "$dir" && grep -rlF "$dir" dist dist-app)"; then
    echo "reproducible: FAILED: outputs contain the build directory $dir:" >&2
    echo "$leaks" >&2
    status=1
  fi
done
if [ $status -eq 0 ]; then
  files=$(wc -l <"$work/one.sha256")
  echo "reproducible: $commit built twice ($one, $two): $files files, identical"
  grep -E '\.pack/' "$work/one.sha256" | sed 's#  \.pack/#  #'
  echo "  (digest of all $files hashes: $(sha256sum <"$work/one.sha256" | cut -d' ' -f1))"
fi
exit $status
