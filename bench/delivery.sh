#!/usr/bin/env bash
# Flowgate delivery benchmark ("delivery you can trust"): ordered throughput with one lane vs.
# many lanes on SQLite (many ordered integrations, and many keyed lanes of one trigger), and
# one vs. two instances sharing a PostgreSQL database. Starts
# `target/release/flowgate serve` on 127.0.0.1 with fresh data (a scratch data dir, fresh
# PostgreSQL schemas), sets up an API key and the integrations through the admin API, loads
# them with wrk (bench/multi.lua), waits for the queues to drain, reads every execution back
# (bench/executions.py) and writes bench/results/delivery-latest.md. Everything it starts is
# stopped on exit (also on failure or Ctrl-C) and the schemas it created are dropped.
#
# Usage: bench/delivery.sh [options]       (see --help; every option has a BENCH_* variable)
#
# Exit status: 0 all checks passed; 1 setup error; 2 bad usage; 3 the run finished but a
# correctness check failed (non-2xx answers, wrong bodies, lost, failed or repeated executions,
# order violations, queue not drained).

set -euo pipefail

# The script's own stdout/stderr, for the exit trap (it may fire inside a redirected call).
exec 8>&1 9>&2

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
LANES=${BENCH_LANES:-100}
ONLY=${BENCH_ONLY:-sqlite,keyed,postgres}
PORT=${BENCH_PORT:-18180}
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
PG_DB=${BENCH_PG_DB:-test}
PG_PARAMS=${BENCH_PG_PARAMS:-}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-180}
QUIET_TIMEOUT=${BENCH_QUIET_TIMEOUT:-600}
QUIET_CPU=${BENCH_QUIET_CPU:-25}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
KEEP=${BENCH_KEEP:-0}
TMP_PARENT=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results/delivery-latest.md}

usage() {
  cat <<EOF
usage: bench/delivery.sh [options]

Measures ordered delivery with 1 lane vs. --lanes lanes on SQLite (--lanes ordered
integrations; --lanes keyed lanes of one ordered trigger), and one vs. two instances on one
PostgreSQL database (asynchronous and ordered), checking order and exactly-once runs.

  --duration D      measured wrk run per workload, e.g. 15s, 1m  (BENCH_DURATION, default 15s)
  --warmup D        warm-up run before each measured run; 0 skips (BENCH_WARMUP, default 3s)
  --connections N   open connections in all (two instances: half each) (BENCH_CONNECTIONS, default 64)
  --threads N       wrk threads in all (two instances: half each)  (BENCH_THREADS, default 2)
  --lanes N         ordered integrations of the many-lanes run, and lane keys of the keyed
                    run, 1 to 999                                    (BENCH_LANES, default 100)
  --only LIST       comma list of scenarios (BENCH_ONLY, default sqlite,keyed,postgres):
                      sqlite    1 ordered integration, then --lanes of them (SQLite)
                      keyed     one ordered integration with trigger.lane_key =
                                "\$.request.query.lane", calls spread over --lanes keys
                                (?lane=001 ...), strict order checked per key (SQLite)
                      postgres  1 and 2 instances on one PostgreSQL database
  --port N          first instance's port on 127.0.0.1; the second uses N+1 (BENCH_PORT, default 18180)
  --pg-db NAME      PostgreSQL database (BENCH_PG_DB, default test); also BENCH_PG_HOST
                    (127.0.0.1, loopback only), BENCH_PG_PORT (5432), BENCH_PG_USER (postgres);
                    trust authentication (or PGPASSWORD) is assumed; BENCH_PG_PARAMS adds
                    query parameters to the database URL, e.g. sslmode=disable
  --drain-timeout S longest wait for the queue to empty            (BENCH_DRAIN_TIMEOUT, default 180)
  --quiet-timeout S longest wait for other cargo/rustc/flowgate processes to end (and the
                    CPUs to be at most BENCH_QUIET_CPU % busy, default 25) before the build
                    and before each warm-up and measured run        (BENCH_QUIET_TIMEOUT, default 600)
  --skip-build      use target/release/flowgate as it is            (BENCH_SKIP_BUILD=1)
  --keep            keep the scratch dir (logs, data) and the PostgreSQL schemas (BENCH_KEEP=1)
  --results FILE    where to write the markdown report            (BENCH_RESULTS)
  -h, --help        this text

Other FLOWGATE_* variables in the environment reach the servers (e.g.
FLOWGATE_WORKER__CONCURRENCY) and are listed in the report; FLOWGATE_DATABASE_URL is ignored
(the script chooses the database of each scenario).
EOF
}

die_usage() {
  echo "delivery.sh: $*" >&2
  echo "try: bench/delivery.sh --help" >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration | --warmup | --connections | --threads | --lanes | --only | --port | --pg-db | \
      --drain-timeout | --quiet-timeout | --results)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value" ;;
  esac
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --lanes) LANES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --pg-db) PG_DB=$2; shift 2 ;;
    --drain-timeout) DRAIN_TIMEOUT=$2; shift 2 ;;
    --quiet-timeout) QUIET_TIMEOUT=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --keep) KEEP=1; shift ;;
    --results) RESULTS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die_usage "unknown option $1" ;;
  esac
done

# "15s" / "1m" / "1h" / "15" -> seconds
to_seconds() {
  local v=$1
  case "$v" in
    *[0-9]s) echo "${v%s}" ;;
    *[0-9]m) echo $(( ${v%m} * 60 )) ;;
    *[0-9]h) echo $(( ${v%h} * 3600 )) ;;
    *[0-9]) echo "$v" ;;
    *) return 1 ;;
  esac
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

for d in "$DURATION" "$WARMUP"; do
  [[ $d =~ ^[0-9]+[smh]?$ ]] || die_usage "duration '$d' is not like 15s, 1m or 15"
done
DURATION_S=$(to_seconds "$DURATION")
WARMUP_S=$(to_seconds "$WARMUP")
(( DURATION_S > 0 )) || die_usage "--duration must be positive"
is_uint "$CONNECTIONS" && is_uint "$THREADS" && (( THREADS > 0 && CONNECTIONS >= THREADS )) \
  || die_usage "--connections ($CONNECTIONS) must be a number >= --threads ($THREADS) > 0"
is_uint "$LANES" && (( LANES >= 1 && LANES <= 999 )) || die_usage "--lanes must be a number from 1 to 999"
is_uint "$PORT" && (( PORT >= 1024 && PORT < 65535 )) || die_usage "--port must be a number from 1024 to 65534"
is_uint "$PG_PORT" || die_usage "BENCH_PG_PORT must be a number"
is_uint "$DRAIN_TIMEOUT" || die_usage "--drain-timeout must be a number of seconds"
is_uint "$QUIET_TIMEOUT" || die_usage "--quiet-timeout must be a number of seconds"
is_uint "$QUIET_CPU" && (( QUIET_CPU <= 100 )) || die_usage "BENCH_QUIET_CPU must be a percentage"
[[ $PG_DB =~ ^[A-Za-z0-9_]+$ && $PG_USER =~ ^[A-Za-z0-9_]+$ ]] \
  || die_usage "the PostgreSQL database and user names must be plain identifiers"
[[ -z $PG_PARAMS || $PG_PARAMS =~ ^[A-Za-z0-9_.%=-]+(\&[A-Za-z0-9_.%=-]+)*$ ]] \
  || die_usage "BENCH_PG_PARAMS must look like key=value&key=value"
case "$PG_HOST" in
  127.0.0.1 | localhost | ::1) ;;
  *) die_usage "BENCH_PG_HOST must be a loopback address (127.0.0.1, localhost, ::1), not '$PG_HOST'" ;;
esac

declare -A WANT=()
IFS=',' read -r -a _only <<<"$ONLY"
for w in "${_only[@]}"; do
  case "$w" in
    sqlite | keyed | postgres) WANT[$w]=1 ;;
    "") ;;
    *) die_usage "unknown scenario '$w' (sqlite, keyed, postgres)" ;;
  esac
done
(( ${#WANT[@]} > 0 )) || die_usage "--only selects no scenario"
wants() { [[ -n ${WANT[$1]-} ]]; }
if wants postgres && (( CONNECTIONS < 2 )); then
  die_usage "--connections must be at least 2 for the two-instance run"
fi

# --------------------------------------------------------------------------------------------
# helpers, process bookkeeping and cleanup

log() { printf '[delivery %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
now() { date +%s.%N; }
# float arithmetic: calc '<awk expression>'
calc() { awk "BEGIN { printf \"%s\", $1 }"; }

PIDS=()      # servers we started
CHILDREN=()  # bounded commands (wrk, verification) currently running
SCHEMAS=()   # PostgreSQL schemas we created
RUN_DIR=""
SCRIPT_T0=$(date +%s)

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 75); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop on TERM within 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

psql_run() { # SQL: one statement against the benchmark database
  PGCONNECT_TIMEOUT=5 timeout 60 psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -c "$1"
}

drop_schema() {
  local s=$1 keep=() x
  if psql_run "DROP SCHEMA IF EXISTS \"$s\" CASCADE" >/dev/null 2>&1; then
    for x in "${SCHEMAS[@]}"; do [[ $x == "$s" ]] || keep+=("$x"); done
    SCHEMAS=("${keep[@]}")
    return 0
  fi
  log "could not drop schema $s (drop it by hand: DROP SCHEMA $s CASCADE)"
  return 1
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  exec 1>&8 2>&9
  if (( rc == 130 || rc == 143 )); then log "interrupted; stopping what we started"; fi
  local p s
  for p in "${CHILDREN[@]}"; do stop_pid "$p"; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  if (( ${#SCHEMAS[@]} > 0 )); then
    if [[ $KEEP == 1 ]]; then
      log "kept PostgreSQL schema(s) ${SCHEMAS[*]} (--keep); drop with: DROP SCHEMA <name> CASCADE"
    else
      for s in "${SCHEMAS[@]}"; do drop_schema "$s"; done
    fi
  fi
  if [[ -n $RUN_DIR && -d $RUN_DIR ]]; then
    if [[ $rc -eq 0 && $KEEP != 1 ]]; then
      rm -rf -- "$RUN_DIR"
    else
      log "kept $RUN_DIR (server logs, wrk output, data)"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background (so signals reach our trap at once), bounded in time.
run_bounded() {
  local secs=$1 rc=0 pid
  shift
  timeout --kill-after=10 "$secs" "$@" &
  pid=$!
  CHILDREN=("$pid")
  wait "$pid" || rc=$?
  CHILDREN=()
  return "$rc"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_http URL PID LOGFILE TIMEOUT: until URL answers 200, or the process dies, or time is up
wait_http() {
  local url=$1 pid=$2 logfile=$3 limit=$4 code start
  start=$(date +%s)
  while true; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [[ $code == 200 ]] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server exited before answering $url; last log lines:"
      tail -n 30 "$logfile" >&2 || true
      die "server did not start"
    fi
    if (( $(date +%s) - start >= limit )); then
      log "no 200 from $url after ${limit}s (last status $code); last log lines:"
      tail -n 30 "$logfile" >&2 || true
      die "server did not become healthy"
    fi
    sleep 0.2
  done
}

ensure_tool() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "$1 not found; installing package $2"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "$1 is missing and we are not root: apt-get install $2"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "$1 is missing and there is no apt-get: install $2"
  if [[ -z ${APT_UPDATED-} ]]; then
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null \
    || die "apt-get install $2 failed"
  command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

# --------------------------------------------------------------------------------------------
# other work on the machine: builds and tests of the same checkout disturb the figures

QUIET_NOTES=()   # what we waited for, and what ran anyway during a measured run

is_ours() {
  local p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] && return 0; done
  return 1
}

# other_busy: "pid:name ..." of cargo, rustc and flowgate processes we did not start
other_busy() {
  local name p out=()
  for name in cargo rustc flowgate; do
    for p in $(pgrep -x "$name" 2>/dev/null || true); do
      is_ours "$p" || out+=("$p:$name")
    done
  done
  echo "${out[*]-}"
}

# cpu_busy: percent of all CPUs busy over one second (from /proc/stat), or "unknown"
cpu_busy() {
  local a b
  a=$(head -n 1 /proc/stat 2>/dev/null) || { echo unknown; return 0; }
  sleep 1
  b=$(head -n 1 /proc/stat 2>/dev/null) || { echo unknown; return 0; }
  awk -v a="$a" -v b="$b" 'BEGIN {
    na = split(a, x); split(b, y); total = 0; idle = 0
    for (i = 2; i <= na; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0) }'
}
# wait_quiet WHAT: waits (at most QUIET_TIMEOUT s) until other_busy is empty and the CPUs are
# at most QUIET_CPU % busy over a second (a test binary may run without cargo)
wait_quiet() {
  local what=$1 start busy shown=0 pct
  start=$(date +%s)
  while true; do
    busy=$(other_busy)
    if [[ -z $busy ]]; then
      pct=$(cpu_busy)
      [[ $pct == unknown ]] || (( pct <= QUIET_CPU )) && break
      busy="CPUs ${pct}% busy"
    fi
    if (( !shown )); then
      log "$what: waiting for other processes to end (at most ${QUIET_TIMEOUT}s): $busy"
      shown=1
    fi
    if (( $(date +%s) - start >= QUIET_TIMEOUT )); then
      log "WARNING: $what: still running after ${QUIET_TIMEOUT}s: $busy; going on, figures will be disturbed"
      QUIET_NOTES+=("$what: other processes still running after waiting ${QUIET_TIMEOUT}s ($busy); measured anyway")
      return 0
    fi
    sleep 2
  done
  local waited=$(( $(date +%s) - start ))
  if (( shown )); then
    log "$what: quiet after ${waited}s"
    QUIET_NOTES+=("$what: waited ${waited}s for other cargo/rustc/flowgate processes to end and the CPUs to calm down")
  fi
}

# --------------------------------------------------------------------------------------------
# tools, build, scratch space

ensure_tool wrk wrk
ensure_tool curl curl
ensure_tool jq jq
ensure_tool python3 python3
ensure_tool timeout coreutils
ensure_tool pgrep procps
if wants postgres; then ensure_tool psql postgresql-client; fi

if [[ -n ${FLOWGATE_DATABASE_URL-} ]]; then
  log "FLOWGATE_DATABASE_URL is set in the environment; ignored (each scenario chooses its database)"
fi
unset FLOWGATE_DATABASE_URL FLOWGATE_LISTEN FLOWGATE_DATA_DIR FLOWGATE_ADMIN_EMAIL FLOWGATE_ADMIN_PASSWORD

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FLOWGATE_BIN=$TARGET_DIR/release/flowgate

if [[ $SKIP_BUILD != 1 ]]; then
  wait_quiet "build"
  log "cargo build --release -p flowgate"
  (cd "$ROOT" && cargo build --release -p flowgate) || die "build failed"
fi
[[ -x $FLOWGATE_BIN ]] || die "$FLOWGATE_BIN is missing (build with: cargo build --release -p flowgate)"

for p in "$PORT" $(( PORT + 1 )); do
  port_in_use "$p" && die "port $p is already in use (set BENCH_PORT / --port)"
done

PG_VERSION=""
PG_SETTINGS=""
PG_TLS=""
if wants postgres; then
  PG_VERSION=$(psql_run 'SHOW server_version' 2>&1) \
    || die "PostgreSQL at $PG_HOST:$PG_PORT (user $PG_USER, database $PG_DB) is not reachable: $PG_VERSION"
  PG_SETTINGS=$(psql_run "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
    FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'ssl')" 2>/dev/null || true)
fi

MEASURE_T0=$(date +%s)
mkdir -p "$TMP_PARENT"
RUN_DIR=$(mktemp -d "$TMP_PARENT/flowgate-delivery.XXXXXX")
RUN_ID=$(basename "$RUN_DIR" | tr -dc 'A-Za-z0-9' | tr 'A-Z' 'a-z' | tail -c 7)
log "scratch dir $RUN_DIR"

BODY='{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z","email":"jane.doe@example.com"}'

random_token() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

# --------------------------------------------------------------------------------------------
# results bookkeeping

declare -A RES=()   # "<label>.<key>" -> value
FAILED=()           # correctness checks that failed
LABELS=()           # measured workloads, in order
fail_check() {
  log "CHECK FAILED: $*"
  FAILED+=("$*")
}

# field LINE KEY: the value of KEY=value in a BENCH_RESULT line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# --------------------------------------------------------------------------------------------
# flowgate instances, admin API

declare -A INST_PID=()   # instance name -> pid
API_BASE=""              # the instance the admin calls go to
AUTH_HEADER_FILE=""
API_SECRET=""
KEY_ID=""
HTTP_CODE=""
HTTP_BODY=""
ADMIN_PASSWORD="Bench-$(random_token 24)-9z"

# api METHOD PATH [JSON]: admin API call to API_BASE; sets HTTP_CODE and HTTP_BODY
api() {
  local method=$1 path=$2 data=${3-} args=()
  args=(-sS -o "$RUN_DIR/api-response" -w '%{http_code}' --max-time 30 -X "$method"
    -H 'Accept: application/json')
  [[ -n $AUTH_HEADER_FILE ]] && args+=(-H "@$AUTH_HEADER_FILE")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  HTTP_CODE=$(curl "${args[@]}" "$API_BASE$path") || HTTP_CODE=000
  HTTP_BODY=$(cat "$RUN_DIR/api-response" 2>/dev/null || true)
}

# start_instance NAME PORT DATA_DIR DATABASE_URL(empty: SQLite) WITH_ADMIN(1/0)
start_instance() {
  local name=$1 port=$2 dir=$3 db=$4 admin=$5 envs=() pid logfile
  port_in_use "$port" && die "port $port is already in use"
  logfile=$RUN_DIR/$name.log
  mkdir -p "$dir"
  envs=(FLOWGATE_LISTEN="127.0.0.1:$port" FLOWGATE_DATA_DIR="$dir" RUST_LOG=warn)
  [[ -n $db ]] && envs+=(FLOWGATE_DATABASE_URL="$db")
  if [[ $admin == 1 ]]; then
    envs+=(FLOWGATE_ADMIN_EMAIL=bench@example.com FLOWGATE_ADMIN_PASSWORD="$ADMIN_PASSWORD")
  fi
  log "starting $name: flowgate serve on 127.0.0.1:$port (${db:+PostgreSQL, }data dir $dir)"
  env "${envs[@]}" "$FLOWGATE_BIN" serve >"$logfile" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  INST_PID[$name]=$pid
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$logfile" 60
}

stop_instance() {
  local name=$1 pid=${INST_PID[$1]-}
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || fail_check "$name exited before the end of its scenario (see $name.log)"
  stop_pid "$pid"
  forget_pid "$pid"
  unset "INST_PID[$name]"
}

# admin_setup BASE: logs in, creates an API key (KEY_ID, API_SECRET)
admin_setup() {
  API_BASE=$1
  AUTH_HEADER_FILE=""
  local creds token
  creds=$(jq -nc --arg e bench@example.com --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')
  for _ in $(seq 1 10); do
    api POST /api/v1/auth/login "$creds"
    [[ $HTTP_CODE == 200 ]] && break
    sleep 0.5
  done
  [[ $HTTP_CODE == 200 ]] || die "login answered $HTTP_CODE: $HTTP_BODY"
  token=$(jq -er '.token | select(type == "string" and length > 0)' <<<"$HTTP_BODY") \
    || die "login answer has no token: $HTTP_BODY"
  AUTH_HEADER_FILE=$RUN_DIR/auth.header
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$AUTH_HEADER_FILE")
  export BENCH_ADMIN_TOKEN=$token

  api POST /api/v1/keys '{"label":"bench"}'
  [[ $HTTP_CODE == 201 ]] || die "creating the API key answered $HTTP_CODE: $HTTP_BODY"
  KEY_ID=$(jq -er '.id | select(type == "string" and length > 0)' <<<"$HTTP_BODY") \
    || die "key answer has no id: $HTTP_BODY"
  API_SECRET=$(jq -er '.secret | select(type == "string" and length > 0)' <<<"$HTTP_BODY") \
    || die "key answer has no secret: $HTTP_BODY"
}

# save_integration SLUG NAME PATH ORDERED [LANE_KEY]: asynchronous (request_response false),
# flow from bench/integration.json; LANE_KEY (a JSONPath, e.g. $.request.query.lane) sets
# trigger.lane_key (one ordered lane per key)
save_integration() {
  local slug=$1 doc
  doc=$(jq -c --arg name "$2" --arg path "$3" --argjson ordered "$4" --arg key "$KEY_ID" \
    --arg lane_key "${5-}" \
    '.name = $name | .trigger.path = $path | .trigger.ordered = $ordered
     | .trigger.request_response = false | .trigger.auth.keys = [$key]
     | if $lane_key != "" then .trigger.lane_key = $lane_key else . end' "$BENCH_DIR/integration.json")
  api PUT "/api/v1/integrations/$slug" "$doc"
  [[ $HTTP_CODE == 200 || $HTTP_CODE == 201 ]] || die "saving integration $slug answered $HTTP_CODE: $HTTP_BODY"
}

# check_consumer BASE PATH: one call with curl before loading (retried briefly while the new
# integration and key reach the instance); PATH may carry a query string (bench/keyed?lane=001)
check_consumer() {
  local base=$1 path=$2 code body
  for _ in $(seq 1 30); do
    code=$(curl -sS -o "$RUN_DIR/consumer-check" -w '%{http_code}' --max-time 15 -X POST \
      -H 'Content-Type: application/json' -H "X-API-Key: $API_SECRET" --data-binary "$BODY" \
      --globoff "$base/t/$path") || code=000
    body=$(cat "$RUN_DIR/consumer-check" 2>/dev/null || true)
    [[ $code == 202 ]] && jq -e '.execution_id | type == "string" and length > 0' <<<"$body" >/dev/null 2>&1 \
      && return 0
    sleep 0.5
  done
  die "POST $base/t/$path answered $code $body; expected 202 {\"execution_id\":...}"
}

# --------------------------------------------------------------------------------------------
# load: one wrk per target instance, at the same time

TARGETS=()    # base URLs of the instances under load
PATHS_CSV=""  # request paths, comma-separated (bench/multi.lua rotates over them)

any_alive() {
  local p
  for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
  return 1
}

# run_load LABEL PHASE DURATION: PHASE "warmup" or "measured"; the latter stores the summed
# figures under RES[LABEL.*]
run_load() {
  local label=$1 phase=$2 dur=$3 secs n conn thr i
  secs=$(to_seconds "$dur")
  n=${#TARGETS[@]}
  conn=$(( CONNECTIONS / n ))
  thr=$(( THREADS / n ))
  (( thr >= 1 )) || thr=1
  (( thr <= conn )) || thr=$conn
  local outs=() pids=() out
  for i in "${!TARGETS[@]}"; do
    out=$RUN_DIR/wrk-$label-$phase-$(( i + 1 )).txt
    BENCH_API_KEY=$API_SECRET BENCH_EXPECT=async BENCH_PATHS=$PATHS_CSV \
      timeout --kill-after=10 $(( secs + 60 )) wrk "-t$thr" "-c$conn" "-d$dur" --timeout 10s --latency \
      -s "$BENCH_DIR/multi.lua" "${TARGETS[i]}/" >"$out" 2>&1 &
    pids+=("$!")
    outs+=("$out")
  done
  CHILDREN=("${pids[@]}")
  RES[$label.wrk_cmd]="wrk -t$thr -c$conn -d$dur --timeout 10s --latency -s bench/multi.lua (×$n)"
  # While the load runs: note any build or test that starts meanwhile.
  local seen="" busy
  while any_alive "${pids[@]}"; do
    busy=$(other_busy)
    [[ -n $busy ]] && seen=$busy
    sleep 0.5
  done
  local rc=0 p
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  CHILDREN=()
  if [[ -n $seen ]]; then
    log "WARNING: $label $phase: other processes ran during the load ($seen)"
    QUIET_NOTES+=("$label $phase: other processes ran during the load ($seen): figures disturbed")
  fi
  if (( rc != 0 )); then
    for out in "${outs[@]}"; do tail -n 20 "$out" >&2 || true; done
    die "wrk failed for $label $phase (exit $rc)"
  fi

  local line st rps=0 acc_ps=0 reqs=0 non2xx=0 bad=0 sock=0 timeouts=0 p50=0 p99=0 parts=() code cnt
  declare -A codes=()
  for out in "${outs[@]}"; do
    line=$(grep '^BENCH_RESULT ' "$out" | tail -n 1 || true)
    [[ -n $line ]] || { cat "$out" >&2; die "wrk printed no BENCH_RESULT for $label $phase"; }
    st=$(grep '^BENCH_STATUS' "$out" | tail -n 1 || true)
    st=${st#BENCH_STATUS}
    local r dur_s a202
    r=$(field "$line" rps)
    dur_s=$(field "$line" duration_s)
    a202=$(grep -o '\b202=[0-9]*' <<<"$st" | cut -d= -f2 || true)
    rps=$(calc "$rps + $r")
    acc_ps=$(calc "$acc_ps + (${dur_s:-0} > 0 ? ${a202:-0} / $dur_s : 0)")
    parts+=("$(printf '%.0f' "$r")")
    reqs=$(( reqs + $(field "$line" requests) ))
    non2xx=$(( non2xx + $(field "$line" non2xx) ))
    bad=$(( bad + $(field "$line" bad_body) ))
    sock=$(( sock + $(field "$line" socket_errors) ))
    timeouts=$(( timeouts + $(field "$line" timeout) ))
    p50=$(calc "($(field "$line" p50_ms) > $p50) ? $(field "$line" p50_ms) : $p50")
    p99=$(calc "($(field "$line" p99_ms) > $p99) ? $(field "$line" p99_ms) : $p99")
    for kv in $st; do
      code=${kv%%=*}
      cnt=${kv#*=}
      codes[$code]=$(( ${codes[$code]:-0} + cnt ))
    done
  done
  local statuses=""
  for code in $(printf '%s\n' "${!codes[@]}" | sort -n); do statuses+="$code=${codes[$code]} "; done
  statuses=${statuses% }

  local what="$label"
  [[ $phase == measured ]] || what="$label $phase"
  (( non2xx == 0 )) || fail_check "$what: $non2xx non-2xx answers ($statuses)"
  (( bad == 0 )) || fail_check "$what: $bad 2xx answers without an execution_id"
  (( sock == 0 )) || fail_check "$what: $sock socket errors (connect/read/write/timeout)"
  log "$what: $(printf '%.0f' "$rps") req/s ($(IFS=+; echo "${parts[*]}")), p99 ${p99} ms; statuses: $statuses"

  if [[ $phase == measured ]]; then
    RES[$label.rps]=$rps
    RES[$label.accepted_per_s]=$acc_ps
    local joined="" part
    for part in "${parts[@]}"; do joined+="${joined:+ + }$part"; done
    RES[$label.rps_parts]=$joined
    RES[$label.requests]=$reqs
    RES[$label.non2xx]=$non2xx
    RES[$label.bad_body]=$bad
    RES[$label.socket_errors]=$sock
    RES[$label.timeouts]=$timeouts
    RES[$label.p50_ms]=$p50
    RES[$label.p99_ms]=$p99
    RES[$label.statuses]=$statuses
    RES[$label.accepted]=${codes[202]:-0}
    RES[$label.instances]=$n
    RES[$label.raw]="${outs[*]}"
  fi
}

# drain LABEL [T0]: waits until nothing is queued or running (all integrations); sets
# DRAIN_OK (1/0) and DRAIN_S (seconds since T0, or since polling began)
drain() {
  local out=$RUN_DIR/drain-$1.txt
  if ! run_bounded $(( DRAIN_TIMEOUT + 60 )) python3 "$BENCH_DIR/executions.py" drain \
    --base "$API_BASE" --timeout "$DRAIN_TIMEOUT" ${2:+--t0 "$2"} >"$out"; then
    fail_check "$1: polling the queue failed: $(tail -n 3 "$out")"
  fi
  DRAIN_OK=$(sed -n 's/^DRAIN ok=\([01]\).*/\1/p' "$out")
  DRAIN_S=$(sed -n 's/^DRAIN .* seconds=\([0-9.]*\).*/\1/p' "$out")
  DRAIN_OK=${DRAIN_OK:-0}
  DRAIN_S=${DRAIN_S:-0}
}

# queue_workload LABEL TITLE ORDERED(true/false) SLUGS_CSV [KEYS]: warm-up, drain, measured
# run, drain, read back and check every execution of the integrations. Load goes to TARGETS /
# PATHS_CSV. KEYS > 0: the integration is ordered with a lane key and the load spreads over
# KEYS key values; a lane is then one key (executions.py verify-many --by-lane), not one
# integration.
queue_workload() {
  local label=$1 title=$2 ordered=$3 slugs=$4 keys=${5:-0} what
  LABELS+=("$label")
  RES[$label.title]=$title
  RES[$label.ordered]=$ordered
  RES[$label.keys]=$keys
  if (( keys > 0 )); then
    RES[$label.lanes]=$keys
    what="$(tr ',' '\n' <<<"$slugs" | grep -c .) integration(s), $keys lane key(s)"
  else
    RES[$label.lanes]=$(tr ',' '\n' <<<"$slugs" | grep -c .)
    what="${RES[$label.lanes]} integration(s)"
  fi

  if (( WARMUP_S > 0 )); then
    wait_quiet "$label warm-up"
    log "$label: warm-up $WARMUP"
    run_load "$label" warmup "$WARMUP"
    log "$label: letting the workers drain the warm-up backlog"
    drain "$label-warmup"
    [[ $DRAIN_OK == 1 ]] || fail_check "$label: queue not drained within ${DRAIN_TIMEOUT}s after the warm-up"
  fi

  wait_quiet "$label"
  log "$label: measuring $DURATION, $CONNECTIONS connections over ${#TARGETS[@]} instance(s), $what"
  RES[$label.since]=$(now)
  run_load "$label" measured "$DURATION"
  RES[$label.ended]=$(now)

  log "$label: waiting for the workers to drain the queue (at most ${DRAIN_TIMEOUT}s)"
  drain "$label" "${RES[$label.ended]}"
  RES[$label.drain_ok]=$DRAIN_OK
  RES[$label.drain_s]=$DRAIN_S
  if [[ $DRAIN_OK == 1 ]]; then
    log "$label: queue empty ${DRAIN_S}s after the load ended"
  else
    fail_check "$label: queue still busy ${DRAIN_S}s after the load ended"
  fi

  log "$label: reading back the executions"
  local out kv args=(verify-many --base "$API_BASE" --slugs "$slugs" --since "${RES[$label.since]}"
    --ended "${RES[$label.ended]}")
  [[ $ordered == true ]] && args+=(--ordered)
  (( keys > 0 )) && args+=(--by-lane)
  if ! run_bounded 900 python3 "$BENCH_DIR/executions.py" "${args[@]}" \
    >"$RUN_DIR/verify-$label.txt" 2>"$RUN_DIR/verify-$label.err"; then
    cat "$RUN_DIR/verify-$label.err" >&2
    fail_check "$label: reading the executions back failed: $(tail -n 1 "$RUN_DIR/verify-$label.err")"
    return 0
  fi
  head -n 20 "$RUN_DIR/verify-$label.err" >&2
  out=$(grep '^VERIFY ' "$RUN_DIR/verify-$label.txt" | tail -n 1 || true)
  if [[ -z $out ]]; then
    fail_check "$label: executions.py printed no VERIFY line"
    return 0
  fi
  for kv in ${out#VERIFY }; do RES[$label.v_${kv%%=*}]=${kv#*=}; done

  local accepted measured excess allowed
  accepted=${RES[$label.accepted]}
  measured=${RES[$label.v_measured]:-0}
  excess=$(( measured - accepted ))
  RES[$label.excess]=$excess
  log "$label: $accepted accepted (202) in the measured run, $measured executions found for it;" \
    "processed ${RES[$label.v_processed_per_s]-?}/s; all runs: ${RES[$label.v_total]:-?} executions" \
    "(${RES[$label.v_statuses]:-}), attempts > 1: ${RES[$label.v_attempts_gt1]-?}"
  (( measured >= accepted )) || fail_check "$label: $accepted calls got 202 but only $measured executions exist"
  # Calls still in flight when wrk stopped (at most one per connection) or timed out on the
  # client side were stored without wrk counting their 202; anything beyond is a duplicate.
  allowed=$(( CONNECTIONS + ${RES[$label.timeouts]:-0} ))
  (( excess <= allowed )) \
    || fail_check "$label: $measured executions for $accepted accepted calls: $excess more than answered (at most $allowed calls were in flight)"
  (( ${RES[$label.v_page_duplicates]:-0} == 0 )) \
    || fail_check "$label: execution list paging returned ${RES[$label.v_page_duplicates]} duplicates"
  (( ${RES[$label.v_lanes_without_executions]:-0} == 0 )) \
    || fail_check "$label: ${RES[$label.v_lanes_without_executions]} integration(s) have no executions"
  if (( keys > 0 )); then
    # Every call named its key: each key must have become a lane of its own, and no
    # execution may have landed in the unkeyed lane.
    (( ${RES[$label.v_lanes]:-0} == keys )) \
      || fail_check "$label: executions in ${RES[$label.v_lanes]-?} lane(s) (distinct lane_key values); the load used $keys keys"
    (( ${RES[$label.v_unkeyed]:-1} == 0 )) \
      || fail_check "$label: ${RES[$label.v_unkeyed]-?} executions have no lane_key (every call had ?lane=...)"
  fi
  if [[ ${RES[$label.drain_ok]} == 1 && ${RES[$label.v_not_succeeded]:-0} != 0 ]]; then
    fail_check "$label: ${RES[$label.v_not_succeeded]} executions did not succeed (${RES[$label.v_statuses]})"
  fi
  (( ${RES[$label.v_attempts_gt1]:-0} == 0 && ${RES[$label.v_attempts_missing]:-0} == 0 )) \
    || fail_check "$label: not exactly once: ${RES[$label.v_attempts_gt1]} executions ran more than once (max attempts ${RES[$label.v_attempts_max]}), ${RES[$label.v_attempts_missing]} without attempts"
  if [[ $ordered == true ]]; then
    if [[ ${RES[$label.v_order_ok]:-0} == 1 ]]; then
      log "$label: strict order holds in ${RES[$label.v_lanes_order_ok]}/${RES[$label.v_lanes]} lane(s) over ${RES[$label.v_sequenced]} executions" \
        "(received_at out of sequence order ${RES[$label.v_received_backwards]-?} times, by at most ${RES[$label.v_received_backwards_max_ms]-?} ms)"
    else
      fail_check "$label: order violated (lanes in order ${RES[$label.v_lanes_order_ok]-?}/${RES[$label.v_lanes]-?}):" \
        "no_sequence=${RES[$label.v_no_sequence]-} dup_sequence=${RES[$label.v_dup_sequence]-}" \
        "started_backwards=${RES[$label.v_started_backwards]-}" \
        "finished_backwards=${RES[$label.v_finished_backwards]-} overlaps=${RES[$label.v_overlaps]-}" \
        "not_succeeded=${RES[$label.v_order_not_succeeded]-} missing_times=${RES[$label.v_missing_times]-}"
    fi
  fi
}

# log_notes NAME: counts WARN/ERROR lines in an instance's log for the report
declare -A LOG_NOTES=()
log_notes() {
  local name=$1 f=$RUN_DIR/$1.log n
  [[ -f $f ]] || return 0
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -c -E '\b(WARN|ERROR)\b' || true)
  LOG_NOTES[$name]=$n
  if (( n > 0 )); then
    log "$name: $n WARN/ERROR line(s) in its log, first ones:"
    sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -E '\b(WARN|ERROR)\b' | head -n 5 | cut -c1-300 >&2 || true
  fi
}

# --------------------------------------------------------------------------------------------
# scenarios

# SQLite, LANES ordered integrations (1 or many) behind one instance
scenario_sqlite_lanes() {
  local n=$1 label name=sqlite-$1 base=http://127.0.0.1:$PORT i slug path slugs=() paths=()
  if (( n == 1 )); then label=sqlite-1-lane; else label=sqlite-$n-lanes; fi
  start_instance "$name" "$PORT" "$RUN_DIR/$name/data" "" 1
  admin_setup "$base"
  for i in $(seq 1 "$n"); do
    slug=$(printf 'bench-lane-%03d' "$i")
    path=$(printf 'bench/lane-%03d' "$i")
    save_integration "$slug" "Bench lane $i" "$path" true
    slugs+=("$slug")
    paths+=("/t/$path")
  done
  log "$label: $n ordered integration(s) saved"
  for path in "${paths[@]}"; do check_consumer "$base" "${path#/t/}"; done
  TARGETS=("$base")
  PATHS_CSV=$(IFS=,; echo "${paths[*]}")
  queue_workload "$label" "SQLite, $n ordered lane(s)" true "$(IFS=,; echo "${slugs[*]}")"
  log_notes "$name"
  stop_instance "$name"
  if (( ${#FAILED[@]} == 0 )) && [[ $KEEP != 1 ]]; then rm -rf -- "${RUN_DIR:?}/$name/data"; fi
}

# SQLite, one ordered integration whose trigger has a lane key ($.request.query.lane), the
# load spread over N keys (/t/bench/keyed?lane=001 ... ?lane=N): N keyed lanes of one trigger
scenario_sqlite_keyed() {
  local n=$1 label name=sqlite-keyed-$1 base=http://127.0.0.1:$PORT i path paths=()
  if (( n == 1 )); then label=sqlite-1-keyed; else label=sqlite-$n-keyed; fi
  start_instance "$name" "$PORT" "$RUN_DIR/$name/data" "" 1
  admin_setup "$base"
  save_integration bench-keyed "Bench keyed lanes" bench/keyed true '$.request.query.lane'
  for i in $(seq 1 "$n"); do
    paths+=("$(printf '/t/bench/keyed?lane=%03d' "$i")")
  done
  log "$label: 1 ordered integration with lane key \$.request.query.lane saved, $n key(s)"
  for path in "${paths[@]}"; do check_consumer "$base" "${path#/t/}"; done
  TARGETS=("$base")
  PATHS_CSV=$(IFS=,; echo "${paths[*]}")
  queue_workload "$label" "SQLite, $n keyed lane(s) of one trigger" true bench-keyed "$n"
  log_notes "$name"
  stop_instance "$name"
  if (( ${#FAILED[@]} == 0 )) && [[ $KEEP != 1 ]]; then rm -rf -- "${RUN_DIR:?}/$name/data"; fi
}

# PostgreSQL: N instances (1 or 2) on a fresh schema, asynchronous then ordered (1 lane)
scenario_pg() {
  local n=$1 schema url name_a=pg-$1-a name_b=pg-$1-b base_a base_b label
  schema="bench_${RUN_ID}_${n}i"
  psql_run "CREATE SCHEMA \"$schema\"" >/dev/null || die "could not create schema $schema"
  SCHEMAS+=("$schema")
  log "PostgreSQL schema $schema created"
  url="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB?options=-c%20search_path%3D$schema"
  [[ $PG_HOST == ::1 ]] && url="postgres://$PG_USER@[::1]:$PG_PORT/$PG_DB?options=-c%20search_path%3D$schema"
  [[ -n $PG_PARAMS ]] && url="$url&$PG_PARAMS"
  base_a=http://127.0.0.1:$PORT
  base_b=http://127.0.0.1:$(( PORT + 1 ))

  start_instance "$name_a" "$PORT" "$RUN_DIR/$name_a/data" "$url" 1
  TARGETS=("$base_a")
  if (( n == 2 )); then
    # Same server.secret (keys and sessions are digests under it), same database.
    [[ -s $RUN_DIR/$name_a/data/server.secret ]] || die "$name_a wrote no server.secret"
    mkdir -p "$RUN_DIR/$name_b/data"
    cp -p "$RUN_DIR/$name_a/data/server.secret" "$RUN_DIR/$name_b/data/server.secret"
    start_instance "$name_b" $(( PORT + 1 )) "$RUN_DIR/$name_b/data" "$url" 0
    TARGETS+=("$base_b")
  fi
  admin_setup "$base_a"
  # Whether the instances' connections use TLS (sslmode defaults to prefer): noted in the report.
  PG_TLS=$(psql_run "SELECT count(*) FILTER (WHERE s.ssl) || ' of ' || count(*)
    FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
    WHERE a.backend_type = 'client backend' AND a.datname = '$PG_DB' AND a.pid <> pg_backend_pid()" 2>/dev/null || echo unknown)
  log "$n instance(s): $PG_TLS connections to the database use TLS"
  save_integration bench-async "Bench async" bench/async false
  save_integration bench-ordered "Bench ordered" bench/ordered true
  local b
  for b in "${TARGETS[@]}"; do
    check_consumer "$b" bench/async
    check_consumer "$b" bench/ordered
  done

  local what="1 instance"
  (( n == 2 )) && what="2 instances"
  PATHS_CSV=/t/bench/async
  queue_workload "pg-$n-async" "PostgreSQL, $what, asynchronous" false bench-async
  PATHS_CSV=/t/bench/ordered
  queue_workload "pg-$n-ordered" "PostgreSQL, $what, ordered (1 lane)" true bench-ordered

  log_notes "$name_a"
  (( n == 2 )) && log_notes "$name_b"
  (( n == 2 )) && stop_instance "$name_b"
  stop_instance "$name_a"
  if [[ $KEEP != 1 ]]; then
    drop_schema "$schema" && log "PostgreSQL schema $schema dropped"
    (( ${#FAILED[@]} == 0 )) && rm -rf -- "${RUN_DIR:?}/$name_a" "${RUN_DIR:?}/$name_b"
  fi
  return 0
}

# --------------------------------------------------------------------------------------------
# run

START_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

wait_quiet "start"
BUSY_BEFORE=$(cpu_busy)
if [[ $BUSY_BEFORE != unknown ]] && (( BUSY_BEFORE > 20 )); then
  log "WARNING: the CPUs are ${BUSY_BEFORE}% busy before we start; other work is competing, numbers will be noisy"
fi

if wants sqlite; then
  scenario_sqlite_lanes 1
  (( LANES > 1 )) && scenario_sqlite_lanes "$LANES"
fi
if wants keyed; then
  scenario_sqlite_keyed "$LANES"
fi
if wants postgres; then
  scenario_pg 1
  scenario_pg 2
fi

# --------------------------------------------------------------------------------------------
# report

r() { echo "${RES[$1]-}"; }
ms() { local v=${RES[$1]-}; [[ -n $v ]] && printf '%.2f' "$v" || echo "–"; }
num() { local v=${RES[$1]-}; [[ -n $v && $v =~ ^[0-9.]+$ ]] && printf "%'.0f" "$v" || echo "–"; }

drain_cell() {
  if [[ $(r "$1.drain_ok") == 1 ]]; then printf '%.2f' "$(r "$1.drain_s")"; else echo "timeout ($(r "$1.drain_s") s)"; fi
}
backlog_cell() {
  local b
  b=$(r "$1.v_backlog_rate_per_s")
  if [[ $b =~ ^[0-9.]+$ ]]; then printf "%'.0f" "$b"; else echo "– (no backlog)"; fi
}
order_cell() {
  local l=$1
  [[ $(r "$l.ordered") == true ]] || { echo "–"; return 0; }
  if [[ $(r "$l.v_order_ok") == 1 ]]; then
    printf 'strict ✓ (%s/%s lanes, %s executions)' "$(r "$l.v_lanes_order_ok")" "$(r "$l.v_lanes")" "$(r "$l.v_sequenced")"
  else
    printf 'VIOLATED ✗ (%s/%s lanes in order)' "$(r "$l.v_lanes_order_ok")" "$(r "$l.v_lanes")"
  fi
}
once_cell() {
  local l=$1 ok=yes
  [[ $(r "$l.v_not_succeeded") == 0 && $(r "$l.v_attempts_gt1") == 0 && $(r "$l.v_attempts_missing") == 0 ]] || ok=NO
  printf '%s (%s / %s succeeded, attempts > 1: %s)' "$ok" "$(r "$l.v_succeeded")" "$(r "$l.v_total")" "$(r "$l.v_attempts_gt1")"
}
exec_cell() { printf "%'d for %'d × 202" "$(r "$1.v_measured")" "$(r "$1.accepted")"; }

workload_row() {
  local l=$1
  [[ -n ${RES[$l.rps]-} ]] || return 0
  local acc
  acc=$(num "$l.accepted_per_s")
  (( $(r "$l.instances") > 1 )) && acc="$acc ($(r "$l.rps_parts"))"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$(r "$l.title")" "$acc" "$(ms "$l.p50_ms")" "$(ms "$l.p99_ms")" "$(r "$l.non2xx")" \
    "$(exec_cell "$l")" "$(drain_cell "$l")" "$(num "$l.v_processed_per_s")" "$(backlog_cell "$l")" \
    "$(order_cell "$l")" "$(once_cell "$l")"
}

model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1 || true)
fs_type=$(df -T "$RUN_DIR" 2>/dev/null | awk 'NR == 2 { print $2 }' || true)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then git_rev="$git_rev (uncommitted changes)"; fi
fg_version="\`$(timeout 5 "$FLOWGATE_BIN" --version 2>/dev/null | head -n 1 || echo flowgate)\` built $(date -u -r "$FLOWGATE_BIN" +%Y-%m-%dT%H:%M:%SZ)"
fg_env=$(env | grep -E '^FLOWGATE_' | sort | sed -E \
  -e 's/^(FLOWGATE_[A-Z_]*PASSWORD[A-Z_]*)=.*/\1=(hidden)/' || true)
ELAPSED=$(( $(date +%s) - SCRIPT_T0 ))
ELAPSED_RUN=$(( $(date +%s) - MEASURE_T0 ))

report() {
  cat <<EOF
# Flowgate delivery benchmark results

Generated by \`bench/delivery.sh\` on $START_DATE (finished $(date -u +%Y-%m-%dT%H:%M:%SZ): ${ELAPSED_RUN} s for the scenarios, ${ELAPSED} s with the build and waits before it).

## Machine and conditions

- CPU: ${model:-unknown}, $(nproc) logical cores (wrk, the servers$(wants postgres && echo " and PostgreSQL") share them)
- Other load: CPUs ${BUSY_BEFORE}% busy in the second before the run (should be near 0); load average before: $START_LOAD, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
- Other builds and tests: $( (( ${#QUIET_NOTES[@]} == 0 )) && echo "none seen before or during the measured runs" || echo "see \"Other processes\" below")
- Kernel: $(uname -srm)
- Rust: $(rustc --version 2>/dev/null || echo unknown)
- wrk: $(wrk -v 2>&1 | head -n 1 || true)
- Flowgate: checkout at commit $git_rev when the report was written; $fg_version$( [[ $SKIP_BUILD == 1 ]] && echo " (not rebuilt by this run: --skip-build)"); SQLite data dirs on ${fs_type:-unknown} (\`$TMP_PARENT\`)
- PostgreSQL: $( wants postgres && echo "${PG_VERSION} on $PG_HOST:$PG_PORT, database \`$PG_DB\`, a fresh schema per scenario${PG_PARAMS:+, URL parameters \`$PG_PARAMS\`}; ${PG_SETTINGS}; ${PG_TLS:-?} client connections used TLS during the last scenario" || echo "not used")
- Flowgate settings from the environment: ${fg_env:+$(tr '\n' ' ' <<<"$fg_env")}${fg_env:-none (defaults)}; \`RUST_LOG=warn\`
- Load: \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 10s --latency -s bench/multi.lua\` per workload$( (( WARMUP_S > 0 )) && echo ", after a $WARMUP warm-up whose backlog is drained first" || echo ", no warm-up"); with two instances one wrk per instance, each with half the connections and threads, at the same time
- Memory:

\`\`\`
$(free -h)
\`\`\`

## Results

Every request is \`POST /t/<path>\` with the identity-service sample event and \`X-API-Key\`
to an asynchronous integration (\`request_response: false\`, flow map → script → respond from
\`bench/integration.json\`), answered \`202 {"execution_id"}\` once stored. "accepted/s" is 202
answers per second during the measured run (with two instances the sum of both wrk processes,
each shown in brackets); latency is wrk's, the worse of the two with two instances.
"executions" are those received during the measured run, against the 202 answers (a few more
is normal: calls in flight when wrk stopped). "drain" is the time from the end of the load
until nothing was queued or running. "processed/s" is executions of the measured run finished
per second between the first start and the last finish among them (across all lanes);
when the workers keep up it is the arrival rate. "backlog worked off/s" is the rate at which
executions still waiting when the load ended were finished (shown when at least 100 were).
Order: per lane (an integration; for keyed lanes one \`lane_key\` of the integration, whose
sequences therefore have gaps), every execution (warm-up included) sorted by sequence has
unique sequences, started_at and finished_at never go backwards, none starts before the
previous one finished, all succeeded. "Exactly once": every execution succeeded with
\`attempts == 1\` in \`GET /api/v1/executions\`.

| workload | accepted/s | p50 ms | p99 ms | non-2xx | executions | drain after load s | processed/s | backlog worked off/s | order | exactly once |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
$(for l in "${LABELS[@]}"; do workload_row "$l"; done)
EOF
  local l
  for l in "${LABELS[@]}"; do
    if (( $(r "$l.lanes") > 1 )); then
      echo
      if (( $(r "$l.keys") > 0 )); then
        echo "$(r "$l.title"): executions per lane (lane key) in the measured run between $(r "$l.v_lane_measured_min") and $(r "$l.v_lane_measured_max")."
      else
        echo "$(r "$l.title"): executions per lane in the measured run between $(r "$l.v_lane_measured_min") and $(r "$l.v_lane_measured_max")."
      fi
    fi
  done
  cat <<EOF

## Status codes

EOF
  for l in "${LABELS[@]}"; do echo "- $l: $(r "$l.statuses")"; done
  echo
  echo "## Server logs"
  echo
  local name
  for name in $(printf '%s\n' "${!LOG_NOTES[@]}" | sort); do
    echo "- $name: ${LOG_NOTES[$name]} WARN/ERROR line(s)"
  done
  echo
  echo "## Other processes"
  echo
  if (( ${#QUIET_NOTES[@]} == 0 )); then
    echo "No other cargo, rustc or flowgate process ran before or during the measured runs."
  else
    local q
    for q in "${QUIET_NOTES[@]}"; do echo "- $q"; done
  fi
  echo
  echo "## Checks"
  echo
  if (( ${#FAILED[@]} == 0 )); then
    echo "All correctness checks passed."
  else
    local f
    for f in "${FAILED[@]}"; do echo "- FAILED: $f"; done
  fi
  echo
  echo "## Raw wrk output"
  local f
  for l in "${LABELS[@]}"; do
    for f in $(r "$l.raw"); do
      [[ -f $f ]] || continue
      printf '\n<details><summary>%s</summary>\n\n```\n' "$(basename "$f" .txt)"
      grep -v '^BENCH_' "$f" || true
      printf '```\n</details>\n'
    done
  done
}

mkdir -p "$(dirname "$RESULTS")"
report >"$RESULTS.tmp"
mv -f "$RESULTS.tmp" "$RESULTS"

echo
sed -n '/^## Results/,/^## Raw wrk output/p' "$RESULTS" | sed '$d'
echo "Report written to $RESULTS"

if (( ${#FAILED[@]} > 0 )); then
  log "${#FAILED[@]} check(s) failed:"
  for f in "${FAILED[@]}"; do log "  - $f"; done
  KEEP=1
  exit 3
fi
log "all checks passed"
