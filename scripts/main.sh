# Dispatches ./vigia subcommands.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/build.sh"

PORT="${VIGIA_PORT:-8787}"

apply_migrations() { # persist-dir
  wrangler d1 migrations apply DB --local --persist-to "$1" >/dev/null
}

# First-run setup needs the secret VIGIA_SETUP_TOKEN (a deployed instance is not open to whoever
# comes first); `./vigia run` gives its local instance a fresh one each start (or the caller's
# VIGIA_SETUP_TOKEN) and uses it itself.
SETUP_TOKEN="${VIGIA_SETUP_TOKEN:-}"

# Creates the first admin and the demo site while the database has no users. The password is
# VIGIA_ADMIN_PASSWORD when set, otherwise generated and written (mode 600) to .vigia/admin-password.
provision_first_start() {
  local base="http://127.0.0.1:$PORT" email="${VIGIA_ADMIN_EMAIL:-admin@vigia.local}"
  local needs
  needs="$(curl -fsS "$base/api/setup" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).needs_setup))')"
  if [ "$needs" != "true" ]; then
    log "existing accounts kept (password file: .vigia/admin-password if this machine generated it)"
    return 0
  fi
  local password how
  if [ -n "${VIGIA_ADMIN_PASSWORD:-}" ]; then
    password="$VIGIA_ADMIN_PASSWORD"; how="from VIGIA_ADMIN_PASSWORD"
  else
    password="$(node -e 'console.log(require("crypto").randomBytes(15).toString("base64url"))')"
    umask 077; mkdir -p "$ROOT/.vigia"; printf '%s\n' "$password" > "$ROOT/.vigia/admin-password"
    how="generated at random and saved in .vigia/admin-password"
  fi
  local body
  body="$(EMAIL="$email" PASSWORD="$password" node -e 'console.log(JSON.stringify({email:process.env.EMAIL,password:process.env.PASSWORD,site:{id:"demo",name:"Demo site",hostnames:["127.0.0.1","localhost"]}}))')"
  curl -fsS -X POST "$base/api/setup" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $SETUP_TOKEN" -d "$body" >/dev/null
  log "created admin $email (password $how) and the demo site"
}

wait_healthy() { # base-url pid
  for _ in $(seq 1 120); do
    curl -fsS "$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "wrangler dev exited; see its output above" >&2; return 1; }
    sleep 0.5
  done
  echo "wrangler dev did not become healthy" >&2; return 1
}

cmd_run() {
  setup_tools no
  build_all
  mkdir -p "$VIGIA_STATE"
  apply_migrations "$VIGIA_STATE"
  [ -n "$SETUP_TOKEN" ] || SETUP_TOKEN="$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')"
  # Every setting (a [vars] entry or a `# secret:` of wrangler.toml) set in the environment is
  # passed on, e.g. `VIGIA_EMAIL_PROVIDER=http VIGIA_EMAIL_API_URL=… ./vigia run`.
  local settings=() name
  for name in $(grep -oE '^(# secret: )?VIGIA_[A-Z_]+' "$ROOT/wrangler.toml" | sed 's/^# secret: //'); do
    if [ "$name" != VIGIA_SETUP_TOKEN ] && [ -n "${!name:-}" ]; then settings+=(--var "$name:${!name}"); fi
  done
  log "starting wrangler dev on http://127.0.0.1:$PORT"
  node "$ROOT/node_modules/wrangler/bin/wrangler.js" dev --ip 127.0.0.1 --port "$PORT" \
    --persist-to "$VIGIA_STATE" --show-interactive-dev-session=false \
    --var "VIGIA_SETUP_TOKEN:$SETUP_TOKEN" "${settings[@]}" &
  local pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0' INT TERM
  wait_healthy "http://127.0.0.1:$PORT" "$pid"
  provision_first_start
  cat >&2 <<MSG

  Vigia is running.
    Dashboard   http://127.0.0.1:$PORT/        (log in as ${VIGIA_ADMIN_EMAIL:-admin@vigia.local})
    Demo page   http://127.0.0.1:$PORT/demo/   (carries the real snippet for site "demo")
    Loader      http://127.0.0.1:$PORT/v.js
    Health      http://127.0.0.1:$PORT/health
  Ctrl-C stops it. Data stays in $VIGIA_STATE.

MSG
  wait "$pid"
}

cmd_test() {
  setup_tools yes
  build_all
  log "size contracts (gzip -9): collector ≤ 6,144 B, dashboard overview ≤ 154,112 B, all dashboard modules ≤ 342,016 B"
  node "$ROOT/scripts/size-check.mjs"
  log "native tests (cargo test)"
  cargo test --quiet -p api-types -p analytics-core -p collector-wasm -p dashboard-leptos -p vigia-agent
  log "the usage agent builds for Windows and macOS (cargo check: OS TLS, no C cross-compiler)"
  cargo check --quiet -p vigia-agent --target x86_64-pc-windows-gnu
  cargo check --quiet -p vigia-agent --target x86_64-apple-darwin
  log "collector tests in headless Chromium (wasm-bindgen-test)"
  cargo test -p collector-wasm --target wasm32-unknown-unknown --test browser
  log "end-to-end tests (wrangler dev + local D1 + headless Chromium)"
  mkdir -p "$ROOT/test-output"
  node --test --test-concurrency=1 "$ROOT"/tests/e2e/*.test.mjs
}

cmd_bench() {
  setup_tools no
  build_all
  log "(b) enrichment pipeline, native (criterion)"
  cargo bench -p analytics-core --bench enrichment -- --warm-up-time 1 --measurement-time 5
  log "(a) POST /api/event vs a trivial route under wrangler dev"
  node "$ROOT/scripts/bench-ingest.mjs"
  log "(c, d) storage, natively: today's layout and the hot/cold layout side by side on 1 M and 10 M generated events — bytes per event, the 30-day overview unfiltered and filtered, the capacity table (docs/storage.md)"
  cargo bench -p analytics-core --bench storage
  log "(c') one cold shard: bytes by table and index, filtered overview through the view and the fast form"
  cargo bench -p analytics-core --bench shard
  log "(d') the overview through the Worker under wrangler dev on generated events bulk-imported into the cold shards (BENCH_EVENTS, default 10 M), and the size contracts"
  node "$ROOT/scripts/size-check.mjs"
  node "$ROOT/scripts/bench-overview.mjs"
  log "login cost: PBKDF2 natively (criterion) and logins against the Worker under wrangler dev"
  cargo bench -p analytics-core --bench kdf -- --warm-up-time 1 --measurement-time 5
  node "$ROOT/scripts/bench-login.mjs"
  log "(e) time to first chart: the overview in headless Chromium (4x CPU slowdown, 150 ms, 1.6 Mbit/s), split and unsplit builds"
  node "$ROOT/scripts/bench-first-chart.mjs"
  log "enrichment accuracy against public test sets, now and before (tests/yardsticks/)"
  node "$ROOT/scripts/bench-accuracy.mjs"
  log "cost of enrichment in the Worker, now and before: bundle, cold start, memory, per-event time under wrangler dev"
  node "$ROOT/scripts/bench-enrich-cost.mjs"
}

cmd_lint() {
  cargo fmt --all -- --check
  cargo clippy --quiet -p ingest-limits -p api-types -p analytics-core -p enrich-score -p collector-wasm -p dashboard-leptos -p vigia-agent --all-targets -- -D warnings
  cargo clippy --quiet -p edge-worker -p collector-wasm -p dashboard-leptos --target wasm32-unknown-unknown -- -D warnings
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  build) setup_tools no; build_all ;;
  setup) setup_tools "${2:-yes}" ;;
  lint) setup_tools no; cmd_lint ;;
  bench) cmd_bench ;;
  migrate-storage) shift; node "$ROOT/scripts/migrate-storage.mjs" "$@" ;;
  import) shift; node "$ROOT/scripts/import.mjs" "$@" ;;
  *) sed -n '2,10p' "$ROOT/vigia" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
