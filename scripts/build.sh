# Builds the three wasm parts. Each part is skipped when none of its inputs changed since its
# last build (a stamp holds the inputs' hash), so a second `./vigia run` starts in seconds.

WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-reference-types --enable-multivalue --enable-mutable-globals)
TARGET_DIR="$ROOT/target/wasm32-unknown-unknown/release"

inputs_hash() {
  (cd "$ROOT" && find "$@" Cargo.toml Cargo.lock -type f -not -path 'edge-worker/build/*' -print0 2>/dev/null \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
}

up_to_date() { # name output hash
  [ -e "$2" ] && [ "$(cat "$ROOT/.vigia/stamps/$1" 2>/dev/null)" = "$3" ]
}

stamp() { mkdir -p "$ROOT/.vigia/stamps"; echo "$2" > "$ROOT/.vigia/stamps/$1"; }

build_collector() {
  local hash wasm="$ROOT/target/collector.opt.wasm"
  hash="$(inputs_hash collector-wasm ingest-limits scripts/publish-collector.mjs scripts/build.sh)"
  up_to_date collector "$ROOT/dist/v.js" "$hash" && return 0
  log "building the collector (wasm module + loader)"
  # No wasm-bindgen step: the module exports plain functions and the loader is its only JS.
  cargo build --quiet --release --target wasm32-unknown-unknown -p collector-wasm --features standalone
  # Every byte counts here (6,144 B with the loader): no target_features section, and not the
  # linker's __data_end/__heap_base exports, which the loader never reads.
  wasm-opt -Oz --converge "${WASM_FEATURES[@]}" --strip-debug --strip-producers --strip-target-features \
    --remove-exports '--pass-arg=remove-exports@__*' -o "$wasm" "$TARGET_DIR/collector_wasm.wasm"
  # Content-hashed module name, the loader pointing at it, older modules kept for cached
  # loaders, and the CORS/cache headers (see the script).
  node "$ROOT/scripts/publish-collector.mjs" "$wasm" "$ROOT/collector-wasm/loader/v.js" "$ROOT/dist" >/dev/null
  stamp collector "$hash"
}

build_dashboard() {
  local hash
  hash="$(inputs_hash dashboard-leptos api-types scripts/publish-dashboard.mjs scripts/assets.mjs scripts/build.sh)"
  up_to_date dashboard "$ROOT/dist/index.html" "$hash" && return 0
  log "building the dashboard (Leptos, split into the overview and lazily loaded screens)"
  compile_dashboard split "$ROOT/target/dashboard-build" || return 1
  node "$ROOT/scripts/publish-dashboard.mjs" "$ROOT/target/dashboard-build/out" \
    "$ROOT/dashboard-leptos/static/index.html" "$ROOT/dist" >/dev/null
  stamp dashboard "$hash"
}

# compile_dashboard split|unsplit WORK: the dashboard's files in WORK/out, ready to publish.
# split: wasm-split-cli cuts the linked wasm (linked with relocations, which it needs) at the
# #[wasm_split] points into the main module and chunks; wasm-bindgen then treats the main one.
# unsplit: one wasm with every screen (the `unsplit` feature); only the bench builds it.
compile_dashboard() {
  local mode="$1" work="$2"
  rm -rf "$work" && mkdir -p "$work/out"
  if [ "$mode" = split ]; then
    cargo rustc --quiet --release --target wasm32-unknown-unknown -p dashboard-leptos --bin dashboard \
      -- -Clink-args=--emit-relocs
    wasm-split-cli --target web --out-name dashboard "$TARGET_DIR/dashboard.wasm" "$work" >/dev/null
    cp "$work"/__wasm_split.js "$work/out/"
    esbuild --minify --log-level=error --allow-overwrite --outfile="$work/out/__wasm_split.js" "$work/out/__wasm_split.js"
    local chunk
    for chunk in "$work"/chunk_*.wasm "$work"/split_*.wasm; do
      # (wasm-split leaves a name subsection binaryen does not know; it warns, then drops it.)
      wasm-opt -Os "${WASM_FEATURES[@]}" --strip-debug --strip-producers -o "$work/out/${chunk##*/}" "$chunk" \
        2> >(grep -v "unknown name subsection" >&2)
    done
  else
    cargo rustc --quiet --release --target wasm32-unknown-unknown -p dashboard-leptos --bin dashboard \
      --features unsplit
    cp "$TARGET_DIR/dashboard.wasm" "$work/dashboard.wasm"
  fi
  # The split chunks import the main module's function table, which wasm-bindgen drops unless
  # told to keep what the linker exported.
  wasm-bindgen --keep-lld-exports --target web --no-typescript --out-dir "$work/out" --out-name dashboard "$work/dashboard.wasm"
  # -Os rather than -Oz: measured 245.4 KB against 246.4 KB gzip on this dashboard.
  wasm-opt -Os --converge "${WASM_FEATURES[@]}" --strip-debug --strip-producers \
    -o "$work/out/dashboard_bg.wasm" "$work/out/dashboard_bg.wasm"
  # wasm-bindgen imports the split loader once per chunk under the same key; esbuild says so.
  esbuild --minify --log-level=error --allow-overwrite --outfile="$work/out/dashboard.js" "$work/out/dashboard.js"
  cp "$ROOT/dashboard-leptos/static/style.css" "$work/out/style.css"
  [ -s "$work/out/dashboard_bg.wasm" ] && [ -s "$work/out/dashboard.js" ] \
    || { echo "the dashboard build in $work failed" >&2; return 1; }
}

build_demo() {
  rm -rf "$ROOT/dist/demo" && mkdir -p "$ROOT/dist" && cp -r "$ROOT/demo" "$ROOT/dist/demo"
}

build_worker() {
  local hash
  hash="$(inputs_hash edge-worker analytics-core api-types ingest-limits)"
  up_to_date worker "$ROOT/edge-worker/build/index.js" "$hash" && return 0
  log "building the Worker (worker-build --release)"
  (cd "$ROOT/edge-worker" && worker-build --release)
  stamp worker "$hash"
}

build_all() {
  build_collector
  build_dashboard
  build_demo
  build_worker
}
