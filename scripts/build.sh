# Builds the three wasm parts. Each part is skipped when none of its inputs changed since its
# last build (a stamp holds the inputs' hash), so a second `./vigia run` starts in seconds.

WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-reference-types --enable-multivalue --enable-mutable-globals)
TARGET_DIR="$ROOT/target/wasm32-unknown-unknown/release"

inputs_hash() {
  (cd "$ROOT" && find "$@" Cargo.toml Cargo.lock -type f -not -path '*/build/*' -print0 2>/dev/null \
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
  local hash out="$ROOT/dist/app"
  hash="$(inputs_hash dashboard-leptos)"
  up_to_date dashboard "$out/dashboard_bg.wasm" "$hash" && return 0
  log "building the dashboard (Leptos)"
  cargo build --quiet --release --target wasm32-unknown-unknown -p dashboard-leptos
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name dashboard "$TARGET_DIR/dashboard.wasm"
  # -Os rather than -Oz: measured 245.4 KB against 246.4 KB gzip on this dashboard.
  wasm-opt -Os --converge "${WASM_FEATURES[@]}" --strip-producers -o "$out/dashboard_bg.wasm" "$out/dashboard_bg.wasm"
  esbuild --minify --log-level=warning --allow-overwrite --outfile="$out/dashboard.js" "$out/dashboard.js"
  cp "$ROOT/dashboard-leptos/static/style.css" "$out/style.css"
  cp "$ROOT/dashboard-leptos/static/index.html" "$ROOT/dist/index.html"
  stamp dashboard "$hash"
}

build_demo() {
  rm -rf "$ROOT/dist/demo" && mkdir -p "$ROOT/dist" && cp -r "$ROOT/demo" "$ROOT/dist/demo"
}

build_worker() {
  local hash
  hash="$(inputs_hash edge-worker analytics-core ingest-limits)"
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
