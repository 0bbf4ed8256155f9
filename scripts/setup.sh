# Installs what is missing; a second run changes nothing. Sourced by main.sh.
setup_tools() {
  local with_browser="${1:-no}"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  # `./vigia test` checks that the usage agent (vigia-agent) builds for Windows and macOS.
  local target
  for target in x86_64-pc-windows-gnu x86_64-apple-darwin; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
      log "adding the $target target (cargo check of the usage agent)"
      rustup target add "$target"
    fi
  done
  if ! wasm-bindgen --version 2>/dev/null | grep -qw "$WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    # Without --locked: its lockfile wants a crate version the registry mirror lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  if ! worker-build --version 2>/dev/null | grep -qw "$WORKER_BUILD_VERSION"; then
    log "installing worker-build $WORKER_BUILD_VERSION (several minutes, once)"
    cargo install --locked worker-build --version "$WORKER_BUILD_VERSION" --force
  fi
  if ! cargo install --list 2>/dev/null | grep -q "^wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    log "installing wasm-split-cli $WASM_SPLIT_VERSION (splits the dashboard's wasm; ~2 minutes, once)"
    cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary --force
  fi
  local lock_sum
  lock_sum="$(sha256sum "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)"
  if [ ! -x "$ROOT/node_modules/.bin/wrangler" ] || [ "$(cat "$ROOT/node_modules/.vigia-lock" 2>/dev/null)" != "$lock_sum" ]; then
    log "installing Node 22, wrangler, binaryen (wasm-opt), esbuild, playwright-core from npm"
    # `npm ci`: exactly the lockfile, never rewriting it (`npm install` adds other platforms'
    # optional packages to package-lock.json and leaves the checkout dirty).
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > "$ROOT/node_modules/.vigia-lock"
  fi
  if [ "$with_browser" = yes ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
    log "installing Debian's chromium and chromium-driver for the browser tests"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}
