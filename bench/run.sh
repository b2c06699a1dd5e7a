#!/usr/bin/env bash
# Flowgate load benchmark: builds the server and the bare actix-web reference, starts both on
# 127.0.0.1 with a fresh data directory, sets up an API key and three integrations through the
# admin API, loads them with wrk, checks the answers and the queue, and writes
# bench/results/latest.md. Everything it starts is stopped on exit, also on failure or Ctrl-C.
#
# Usage: bench/run.sh [options]            (see --help; every option has a BENCH_* variable)
#
# Exit status: 0 all checks passed (targets are reported, not enforced); 1 setup error;
# 2 bad usage; 3 the run finished but a correctness check failed (non-2xx answers, wrong
# bodies, lost or failed executions, order violations, queue not drained).

set -euo pipefail

# The script's own stdout/stderr, for the exit trap (it may fire inside a redirected call).
exec 8>&1 9>&2

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-5s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
PORT=${BENCH_PORT:-18080}
REF_PORT=${BENCH_REF_PORT:-18090}
WRK_CPUS=${BENCH_WRK_CPUS:-}
SERVER_CPUS=${BENCH_SERVER_CPUS:-}
ONLY=${BENCH_ONLY:-reference,sync-map,async,ordered}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-300}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
KEEP=${BENCH_KEEP:-0}
TMP_PARENT=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results/latest.md}
AB_ROUNDS=${BENCH_AB:-0}

usage() {
  cat <<EOF
usage: bench/run.sh [options]

  --duration D      measured wrk run per workload, e.g. 20s, 1m  (BENCH_DURATION, default 20s)
  --warmup D        warm-up run before each measured run; 0 skips (BENCH_WARMUP, default 5s)
  --connections N   open connections                              (BENCH_CONNECTIONS, default 64)
  --threads N       wrk threads                                   (BENCH_THREADS, default 2)
  --wrk-cpus LIST   pin wrk with taskset -c LIST, e.g. 1          (BENCH_WRK_CPUS)
  --server-cpus LIST pin flowgate and the reference, e.g. 0       (BENCH_SERVER_CPUS)
  --only LIST       comma list of reference,sync-map,async,ordered,http-step
                    (BENCH_ONLY, default all but http-step)
  --port N          flowgate port on 127.0.0.1                    (BENCH_PORT, default 18080)
  --ref-port N      reference server port                         (BENCH_REF_PORT, default 18090)
  --drain-timeout S longest wait for the queue to empty            (BENCH_DRAIN_TIMEOUT, default 300)
  --skip-build      use the binaries already in target/release    (BENCH_SKIP_BUILD=1)
  --keep            keep the temporary data dir and logs           (BENCH_KEEP=1)
  --results FILE    where to write the markdown report            (BENCH_RESULTS)
  --ab N            reference and sync-map alternately, N rounds each (A B A B ...), both
                    servers up the whole time; reports every round's ratio and the median
                    round                                          (BENCH_AB, default 0: off)
  -h, --help        this text

Other FLOWGATE_* variables in the environment reach the server (e.g.
FLOWGATE_WORKER__CONCURRENCY, FLOWGATE_DATABASE_URL for PostgreSQL) and are listed in the report.
EOF
}

die_usage() {
  echo "run.sh: $*" >&2
  echo "try: bench/run.sh --help" >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration | --warmup | --connections | --threads | --wrk-cpus | --server-cpus | --only | --port | \
      --ref-port | --drain-timeout | --results | --ab)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value" ;;
  esac
  case "$1" in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads) THREADS=${2:?--threads needs a value}; shift 2 ;;
    --wrk-cpus) WRK_CPUS=${2:?--wrk-cpus needs a value}; shift 2 ;;
    --server-cpus) SERVER_CPUS=${2:?--server-cpus needs a value}; shift 2 ;;
    --only) ONLY=${2:?--only needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --ref-port) REF_PORT=${2:?--ref-port needs a value}; shift 2 ;;
    --drain-timeout) DRAIN_TIMEOUT=${2:?--drain-timeout needs a value}; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --keep) KEEP=1; shift ;;
    --results) RESULTS=${2:?--results needs a value}; shift 2 ;;
    --ab) AB_ROUNDS=${2:?--ab needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die_usage "unknown option $1" ;;
  esac
done

# "20s" / "1m" / "1h" / "20" -> seconds
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
  [[ $d =~ ^[0-9]+[smh]?$ ]] || die_usage "duration '$d' is not like 20s, 1m or 20"
done
DURATION_S=$(to_seconds "$DURATION")
WARMUP_S=$(to_seconds "$WARMUP")
(( DURATION_S > 0 )) || die_usage "--duration must be positive"
is_uint "$CONNECTIONS" && is_uint "$THREADS" && (( THREADS > 0 && CONNECTIONS >= THREADS )) \
  || die_usage "--connections ($CONNECTIONS) must be a number >= --threads ($THREADS) > 0"
is_uint "$PORT" && is_uint "$REF_PORT" && (( PORT != REF_PORT )) || die_usage "ports must be two different numbers"
is_uint "$AB_ROUNDS" || die_usage "--ab must be a number of rounds"
is_uint "$DRAIN_TIMEOUT" || die_usage "--drain-timeout must be a number of seconds"
[[ -z $WRK_CPUS || $WRK_CPUS =~ ^[0-9,-]+$ ]] || die_usage "--wrk-cpus must be a CPU list like 1 or 0-1"
[[ -z $SERVER_CPUS || $SERVER_CPUS =~ ^[0-9,-]+$ ]] || die_usage "--server-cpus must be a CPU list like 0"

declare -A WANT=()
IFS=',' read -r -a _only <<<"$ONLY"
for w in "${_only[@]}"; do
  case "$w" in
    reference | sync-map | async | ordered | http-step) WANT[$w]=1 ;;
    "") ;;
    *) die_usage "unknown workload '$w' (reference, sync-map, async, ordered, http-step)" ;;
  esac
done
(( ${#WANT[@]} > 0 )) || die_usage "--only selects no workload"
wants() { [[ -n ${WANT[$1]-} ]]; }
if (( AB_ROUNDS > 0 )); then
  WANT[reference]=1
  WANT[sync-map]=1
fi
NEED_FLOWGATE=0
if wants sync-map || wants async || wants ordered || wants http-step; then NEED_FLOWGATE=1; fi

# --------------------------------------------------------------------------------------------
# helpers, process bookkeeping and cleanup

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
now() { date +%s.%N; }
# float arithmetic: calc '<awk expression>'
calc() { awk "BEGIN { printf \"%s\", $1 }"; }

PIDS=()     # long-running servers we started
CHILD=""    # the bounded foreground command (wrk, verification) currently running
RUN_DIR=""

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop on TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  exec 1>&8 2>&9
  if (( rc == 130 || rc == 143 )); then log "interrupted; stopping what we started"; fi
  [[ -n $CHILD ]] && stop_pid "$CHILD"
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
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
  local secs=$1 rc=0
  shift
  timeout --kill-after=10 "$secs" "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

maybe_pin() { # prints the taskset prefix for a CPU list, or nothing
  [[ -n $1 ]] && printf 'taskset\n-c\n%s\n' "$1"
  return 0
}

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
# tools, build, scratch space

ensure_tool wrk wrk
ensure_tool curl curl
ensure_tool jq jq
ensure_tool python3 python3
ensure_tool timeout coreutils
if [[ -n $WRK_CPUS || -n $SERVER_CPUS ]]; then ensure_tool taskset util-linux; fi

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FLOWGATE_BIN=$TARGET_DIR/release/flowgate
REF_BIN=$TARGET_DIR/release/bench-reference

if [[ $SKIP_BUILD != 1 ]]; then
  build=(-p bench-reference)
  (( NEED_FLOWGATE )) && build=(-p flowgate -p bench-reference)
  log "cargo build --release ${build[*]}"
  (cd "$ROOT" && cargo build --release "${build[@]}") || die "build failed"
fi
[[ -x $REF_BIN ]] || die "$REF_BIN is missing (build with: cargo build --release -p bench-reference)"
if (( NEED_FLOWGATE )); then
  [[ -x $FLOWGATE_BIN ]] || die "$FLOWGATE_BIN is missing (build with: cargo build --release -p flowgate)"
fi

mkdir -p "$TMP_PARENT"
RUN_DIR=$(mktemp -d "$TMP_PARENT/flowgate-bench.XXXXXX")
DATA_DIR=$RUN_DIR/data
mkdir -p "$DATA_DIR"
log "scratch dir $RUN_DIR"

BODY='{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z","email":"jane.doe@example.com"}'
EXPECTED='{"ok":true,"entity":"USER:IDNUMBER1234","event":"update","email_domain":"example.com"}'
EXPECTED_CANON=$(jq -cS . <<<"$EXPECTED")

random_token() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

# --------------------------------------------------------------------------------------------
# results bookkeeping

declare -A RES=()   # "<workload>.<key>" -> value
FAILED=()           # correctness checks that failed
fail_check() {
  log "CHECK FAILED: $*"
  FAILED+=("$*")
}

# run_wrk LABEL URL KEY EXPECT DURATION OUTFILE [record]: runs wrk with bench/post.lua and,
# with "record", stores its BENCH_RESULT / BENCH_STATUS fields under RES[LABEL.*].
run_wrk() {
  local label=$1 url=$2 key=$3 expect=$4 dur=$5 out=$6 record=${7-} secs cmd=() pin=()
  secs=$(to_seconds "$dur")
  mapfile -t pin < <(maybe_pin "$WRK_CPUS")
  cmd=("${pin[@]}" wrk "-t$THREADS" "-c$CONNECTIONS" "-d$dur" --timeout 10s --latency
    -s "$BENCH_DIR/post.lua" "$url")
  if ! BENCH_API_KEY=$key BENCH_EXPECT=$expect run_bounded $(( secs + 60 )) "${cmd[@]}" >"$out" 2>&1; then
    tail -n 20 "$out" >&2 || true
    die "wrk failed for $label ($url)"
  fi
  local result status kv
  result=$(grep '^BENCH_RESULT ' "$out" | tail -n 1 || true)
  [[ -n $result ]] || { cat "$out" >&2; die "wrk printed no BENCH_RESULT for $label"; }
  status=$(grep '^BENCH_STATUS' "$out" | tail -n 1 || true)
  if [[ $record == record ]]; then
    for kv in ${result#BENCH_RESULT }; do RES[$label.${kv%%=*}]=${kv#*=}; done
    RES[$label.statuses]=${status#BENCH_STATUS}
    RES[$label.statuses]=${RES[$label.statuses]# }
  fi
  local non2xx bad sock
  non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$result")
  bad=$(sed -n 's/.* bad_body=\([0-9]*\).*/\1/p' <<<"$result")
  sock=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$result")
  local what=$label
  [[ $record == record ]] || what="$label warm-up"
  (( non2xx == 0 )) || fail_check "$what: $non2xx non-2xx answers (${status#BENCH_STATUS })"
  (( bad == 0 )) || fail_check "$what: $bad 2xx answers with an unexpected body"
  (( sock == 0 )) || fail_check "$what: $sock socket errors (connect/read/write/timeout)"
  log "$what: $(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$result") req/s, p99 $(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$result") ms; statuses:${status#BENCH_STATUS}"
}

# load LABEL URL KEY EXPECT [after_warmup_fn]: warm-up (discarded) then the measured run
load() {
  local label=$1 url=$2 key=$3 expect=$4 after=${5-}
  if (( WARMUP_S > 0 )); then
    log "$label: warm-up $WARMUP"
    run_wrk "$label" "$url" "$key" "$expect" "$WARMUP" "$RUN_DIR/wrk-$label-warmup.txt"
  fi
  [[ -n $after ]] && "$after"
  log "$label: measuring $DURATION, $CONNECTIONS connections, $THREADS threads${WRK_CPUS:+, wrk on CPUs $WRK_CPUS}"
  RES[$label.since]=$(now)
  run_wrk "$label" "$url" "$key" "$expect" "$DURATION" "$RUN_DIR/wrk-$label.txt" record
  RES[$label.ended]=$(now)
}

# --------------------------------------------------------------------------------------------
# the reference server

# start_reference: starts the reference server, checks one answer; sets REF_URL, REF_KEY, REF_PID
start_reference() {
  port_in_use "$REF_PORT" && die "port $REF_PORT is already in use (set BENCH_REF_PORT)"
  local pin=() url=http://127.0.0.1:$REF_PORT
  REF_KEY=$(random_token 32)
  REF_URL=$url
  mapfile -t pin < <(maybe_pin "$SERVER_CPUS")
  log "starting bench-reference on 127.0.0.1:$REF_PORT"
  BENCH_REF_LISTEN=127.0.0.1:$REF_PORT BENCH_REF_API_KEY=$REF_KEY \
    "${pin[@]}" "$REF_BIN" >"$RUN_DIR/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  wait_http "$url/healthz" "$REF_PID" "$RUN_DIR/reference.log" 30

  local code body
  code=$(curl -sS -o "$RUN_DIR/ref-check.json" -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: application/json' -H "X-API-Key: $REF_KEY" --data-binary "$BODY" \
    "$url/t/bench/sync-map") || code=000
  body=$(cat "$RUN_DIR/ref-check.json" 2>/dev/null || true)
  [[ $code == 200 && $(jq -cS . <<<"$body" 2>/dev/null) == "$EXPECTED_CANON" ]] \
    || die "reference answered $code $body, expected 200 $EXPECTED"
}

stop_reference() {
  stop_pid "$REF_PID"
  forget_pid "$REF_PID"
}

run_reference() {
  start_reference
  load reference "$REF_URL/t/bench/sync-map" "$REF_KEY" sync
  stop_reference
}

# run_ab: reference and sync-map alternately, AB_ROUNDS measured runs each, both servers up
# the whole time (the idle one costs nothing). Each round's ratio is kept; the round with the
# median ratio becomes the "reference" and "sync-map" rows of the report.
AB_LINES=()
run_ab() {
  start_reference
  local sync_url=$BASE/t/bench/sync-map i ratios=()
  if (( WARMUP_S > 0 )); then
    log "A/B: warm-up $WARMUP each"
    run_wrk reference "$REF_URL/t/bench/sync-map" "$REF_KEY" sync "$WARMUP" "$RUN_DIR/wrk-ab-ref-warmup.txt"
    run_wrk sync-map "$sync_url" "$API_SECRET" sync "$WARMUP" "$RUN_DIR/wrk-ab-fg-warmup.txt"
  fi
  for (( i = 1; i <= AB_ROUNDS; i++ )); do
    log "A/B round $i of $AB_ROUNDS: reference, then flowgate, $DURATION each"
    run_wrk "ref$i" "$REF_URL/t/bench/sync-map" "$REF_KEY" sync "$DURATION" "$RUN_DIR/wrk-ref$i.txt" record
    run_wrk "fg$i" "$sync_url" "$API_SECRET" sync "$DURATION" "$RUN_DIR/wrk-fg$i.txt" record
    local ratio
    ratio=$(calc "${RES[fg$i.rps]} / ${RES[ref$i.rps]}")
    ratios+=("$ratio $i")
    AB_LINES+=("| $i | $(printf '%.0f' "${RES[ref$i.rps]}") | $(printf '%.2f' "${RES[ref$i.p99_ms]}") | $(printf '%.0f' "${RES[fg$i.rps]}") | $(printf '%.2f' "${RES[fg$i.p50_ms]}") | $(printf '%.2f' "${RES[fg$i.p99_ms]}") | $(printf '%.3f' "$ratio") |")
    log "A/B round $i: flowgate/reference = $(printf '%.3f' "$ratio")"
  done
  stop_reference
  local median k key
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (AB_ROUNDS + 1) / 2 ))p")
  k=${median#* }
  RES[ab.ratio]=${median% *}
  RES[ab.round]=$k
  for key in "${!RES[@]}"; do
    case "$key" in
      "ref$k".*) RES[reference.${key#*.}]=${RES[$key]} ;;
      "fg$k".*) RES[sync-map.${key#*.}]=${RES[$key]} ;;
    esac
  done
  cp "$RUN_DIR/wrk-ref$k.txt" "$RUN_DIR/wrk-reference.txt"
  cp "$RUN_DIR/wrk-fg$k.txt" "$RUN_DIR/wrk-sync-map.txt"
  log "A/B: median ratio $(printf '%.3f' "${RES[ab.ratio]}") (round $k)"
}

# --------------------------------------------------------------------------------------------
# flowgate: start, log in, key, integrations

BASE=http://127.0.0.1:$PORT
AUTH_HEADER_FILE=""
API_SECRET=""
HTTP_CODE=""
HTTP_BODY=""

# api METHOD PATH [JSON]: admin API call; sets HTTP_CODE and HTTP_BODY
api() {
  local method=$1 path=$2 data=${3-} args=()
  args=(-sS -o "$RUN_DIR/api-response" -w '%{http_code}' --max-time 30 -X "$method"
    -H 'Accept: application/json')
  [[ -n $AUTH_HEADER_FILE ]] && args+=(-H "@$AUTH_HEADER_FILE")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  HTTP_CODE=$(curl "${args[@]}" "$BASE$path") || HTTP_CODE=000
  HTTP_BODY=$(cat "$RUN_DIR/api-response" 2>/dev/null || true)
}

start_flowgate() {
  port_in_use "$PORT" && die "port $PORT is already in use (set BENCH_PORT)"
  local password pin=() pid
  password="Bench-$(random_token 24)-9z"
  mapfile -t pin < <(maybe_pin "$SERVER_CPUS")
  log "starting flowgate serve on $BASE (data dir $DATA_DIR)"
  # http-step calls the reference server on loopback, which flows may not reach by default.
  FLOWGATE_OUTBOUND__ALLOW=${FLOWGATE_OUTBOUND__ALLOW:-127.0.0.1} \
    FLOWGATE_LISTEN=127.0.0.1:$PORT FLOWGATE_DATA_DIR=$DATA_DIR \
    FLOWGATE_ADMIN_EMAIL=bench@example.com FLOWGATE_ADMIN_PASSWORD=$password RUST_LOG=warn \
    "${pin[@]}" "$FLOWGATE_BIN" serve >"$RUN_DIR/flowgate.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  FLOWGATE_PID=$pid
  wait_http "$BASE/healthz" "$pid" "$RUN_DIR/flowgate.log" 30

  # (retried briefly, in case the admin account is created just after the listener is up)
  local creds
  creds=$(jq -nc --arg e bench@example.com --arg p "$password" '{email: $e, password: $p}')
  for _ in $(seq 1 10); do
    api POST /api/v1/auth/login "$creds"
    [[ $HTTP_CODE == 200 ]] && break
    sleep 0.5
  done
  [[ $HTTP_CODE == 200 ]] || die "login answered $HTTP_CODE: $HTTP_BODY"
  local token
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
  log "API key $KEY_ID ($(jq -r '.prefix // ""' <<<"$HTTP_BODY")...) created"
}

# save_integration SLUG NAME PATH ORDERED REQUEST_RESPONSE
save_integration() {
  local slug=$1 doc
  doc=$(jq -c --arg name "$2" --arg path "$3" --argjson ordered "$4" --argjson rr "$5" --arg key "$KEY_ID" \
    '.name = $name | .trigger.path = $path | .trigger.ordered = $ordered
     | .trigger.request_response = $rr | .trigger.auth.keys = [$key]' "$BENCH_DIR/integration.json")
  api PUT "/api/v1/integrations/$slug" "$doc"
  [[ $HTTP_CODE == 200 || $HTTP_CODE == 201 ]] || die "saving integration $slug answered $HTTP_CODE: $HTTP_BODY"
  log "integration $slug saved ($HTTP_CODE) at /t/$3"
}

# check_consumer PATH EXPECT: one call with curl before loading (retried briefly while the new
# integration gets published)
check_consumer() {
  local path=$1 expect=$2 code body
  for _ in $(seq 1 20); do
    code=$(curl -sS -o "$RUN_DIR/consumer-check" -w '%{http_code}' --max-time 15 -X POST \
      -H 'Content-Type: application/json' -H "X-API-Key: $API_SECRET" --data-binary "$BODY" \
      "$BASE/t/$path") || code=000
    body=$(cat "$RUN_DIR/consumer-check" 2>/dev/null || true)
    if [[ $expect == sync ]]; then
      [[ $code == 200 && $(jq -cS . <<<"$body" 2>/dev/null) == "$EXPECTED_CANON" ]] && return 0
    else
      [[ $code == 202 ]] && jq -e '.execution_id | type == "string" and length > 0' <<<"$body" >/dev/null 2>&1 \
        && return 0
    fi
    sleep 0.5
  done
  if [[ $expect == sync ]]; then
    die "POST /t/$path answered $code $body; expected 200 $EXPECTED"
  fi
  die "POST /t/$path answered $code $body; expected 202 {\"execution_id\":...}"
}

# --------------------------------------------------------------------------------------------
# queue drain and execution checks (bench/executions.py)

# drain LABEL SLUG [T0]: waits until the integration has nothing queued or running; sets
# DRAIN_OK (1/0) and DRAIN_S (seconds since T0, or since polling began)
drain() {
  local out=$RUN_DIR/drain-$1.txt
  if ! run_bounded $(( DRAIN_TIMEOUT + 60 )) python3 "$BENCH_DIR/executions.py" drain \
    --base "$BASE" --slug "$2" --timeout "$DRAIN_TIMEOUT" ${3:+--t0 "$3"} >"$out"; then
    fail_check "$1: polling the queue failed: $(tail -n 3 "$out")"
  fi
  DRAIN_OK=$(sed -n 's/^DRAIN ok=\([01]\).*/\1/p' "$out")
  DRAIN_S=$(sed -n 's/^DRAIN .* seconds=\([0-9.]*\).*/\1/p' "$out")
  DRAIN_OK=${DRAIN_OK:-0}
  DRAIN_S=${DRAIN_S:-0}
}

queue_workload() { # LABEL SLUG PATH ORDERED(true/false)
  local label=$1 slug=$2 path=$3 ordered=$4
  check_consumer "$path" async

  _drain_after_warmup() {
    log "$label: letting the workers drain the warm-up backlog"
    drain "$label-warmup" "$slug"
    [[ $DRAIN_OK == 1 ]] || fail_check "$label: queue not drained within ${DRAIN_TIMEOUT}s after warm-up"
  }
  load "$label" "$BASE/t/$path" "$API_SECRET" async _drain_after_warmup

  log "$label: waiting for the workers to drain the queue (at most ${DRAIN_TIMEOUT}s)"
  drain "$label" "$slug" "${RES[$label.ended]}"
  RES[$label.drain_ok]=$DRAIN_OK
  RES[$label.drain_s]=$DRAIN_S
  if [[ $DRAIN_OK == 1 ]]; then
    log "$label: queue empty ${DRAIN_S}s after the load ended"
  else
    fail_check "$label: queue still busy ${DRAIN_S}s after the load ended"
  fi

  local accepted
  accepted=$(grep -o '\b202=[0-9]*' <<<"${RES[$label.statuses]}" | cut -d= -f2 || true)
  accepted=${accepted:-0}
  RES[$label.accepted]=$accepted

  log "$label: reading back the executions"
  local out kv args=(verify --base "$BASE" --slug "$slug" --since "${RES[$label.since]}"
    --ended "${RES[$label.ended]}")
  [[ $ordered == true ]] && args+=(--ordered)
  if ! run_bounded 900 python3 "$BENCH_DIR/executions.py" "${args[@]}" \
    >"$RUN_DIR/verify-$label.txt" 2>"$RUN_DIR/verify-$label.err"; then
    cat "$RUN_DIR/verify-$label.err" >&2
    fail_check "$label: reading the executions back failed: $(tail -n 1 "$RUN_DIR/verify-$label.err")"
    return 0
  fi
  cat "$RUN_DIR/verify-$label.err" >&2
  out=$(grep '^VERIFY ' "$RUN_DIR/verify-$label.txt" | tail -n 1 || true)
  if [[ -z $out ]]; then
    fail_check "$label: executions.py printed no VERIFY line"
    return 0
  fi
  for kv in ${out#VERIFY }; do RES[$label.v_${kv%%=*}]=${kv#*=}; done

  local measured
  measured=${RES[$label.v_measured]:-0}
  log "$label: $accepted accepted (202) in the measured run, $measured executions found for it;" \
    "all runs: ${RES[$label.v_total]:-?} executions (${RES[$label.v_statuses]:-})"
  (( measured >= accepted )) || fail_check "$label: $accepted calls got 202 but only $measured executions exist"
  (( ${RES[$label.v_page_duplicates]:-0} == 0 )) \
    || fail_check "$label: execution list paging returned ${RES[$label.v_page_duplicates]} duplicates"
  if [[ ${RES[$label.drain_ok]} == 1 && ${RES[$label.v_not_succeeded]:-0} != 0 ]]; then
    fail_check "$label: ${RES[$label.v_not_succeeded]} executions did not succeed (${RES[$label.v_statuses]})"
  fi
  if [[ $ordered == true ]]; then
    if [[ ${RES[$label.v_order_ok]:-0} == 1 ]]; then
      log "$label: strict order holds over ${RES[$label.v_sequenced]} executions" \
        "(received_at out of sequence order ${RES[$label.v_received_backwards]-?} times, by at most ${RES[$label.v_received_backwards_max_ms]-?} ms)"
    else
      fail_check "$label: order violated: no_sequence=${RES[$label.v_no_sequence]-} dup_sequence=${RES[$label.v_dup_sequence]-}" \
        "started_backwards=${RES[$label.v_started_backwards]-}" \
        "finished_backwards=${RES[$label.v_finished_backwards]-} overlaps=${RES[$label.v_overlaps]-}" \
        "not_succeeded=${RES[$label.v_order_not_succeeded]-} missing_times=${RES[$label.v_missing_times]-}"
    fi
  fi
}

# http-step: a request-response flow with one HTTP step to the reference server (on
# loopback, pooled connections) whose answer is the flow's answer.
run_http_step() {
  start_reference
  local doc
  doc=$(jq -nc --arg key "$KEY_ID" --arg url "$REF_URL/t/bench/sync-map" --arg refkey "$REF_KEY" '{
    name: "Bench HTTP step",
    trigger: {path: "bench/http-step", methods: ["POST"], auth: {type: "api_key", keys: [$key]},
      ordered: false, request_response: true, timeout_ms: 10000, max_body_bytes: 1048576,
      query_params: []},
    steps: [
      {type: "http", method: "POST", url: $url, headers: {"x-api-key": $refkey},
       body_expr: "request.body", timeout_ms: 5000, to: "up"},
      {type: "respond", status: 200, body_expr: "vars.up.body"}
    ]}')
  api PUT /api/v1/integrations/bench-http-step "$doc"
  [[ $HTTP_CODE == 200 || $HTTP_CODE == 201 ]] || die "saving integration bench-http-step answered $HTTP_CODE: $HTTP_BODY"
  check_consumer bench/http-step sync
  load http-step "$BASE/t/bench/http-step" "$API_SECRET" sync
  stop_reference
}

# --------------------------------------------------------------------------------------------
# run

START_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

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
BUSY_BEFORE=$(cpu_busy)
if [[ $BUSY_BEFORE != unknown ]] && (( BUSY_BEFORE > 20 )); then
  log "WARNING: the CPUs are ${BUSY_BEFORE}% busy before we start; other work is competing, numbers will be noisy"
fi

if (( NEED_FLOWGATE )); then
  start_flowgate
  wants sync-map && save_integration bench-sync-map "Bench sync map" bench/sync-map false true
  wants async && save_integration bench-async "Bench async" bench/async false false
  wants ordered && save_integration bench-ordered "Bench ordered" bench/ordered true false
  wants sync-map && check_consumer bench/sync-map sync
fi

if (( AB_ROUNDS > 0 )); then
  run_ab
else
  wants reference && run_reference
  if wants sync-map; then
    load sync-map "$BASE/t/bench/sync-map" "$API_SECRET" sync
  fi
fi
wants http-step && run_http_step
wants async && queue_workload async bench-async bench/async false
wants ordered && queue_workload ordered bench-ordered bench/ordered true

if (( NEED_FLOWGATE )) && ! kill -0 "$FLOWGATE_PID" 2>/dev/null; then
  fail_check "flowgate exited during the run (see its log)"
fi

# --------------------------------------------------------------------------------------------
# report

r() { echo "${RES[$1]-}"; }
ms() { local v=${RES[$1]-}; [[ -n $v ]] && printf '%.2f' "$v" || echo "–"; }
num() { local v=${RES[$1]-}; [[ -n $v ]] && printf '%.0f' "$v" || echo "–"; }

verdict_sync() {
  local rps=${RES[sync-map.rps]-} ref=${RES[reference.rps]-} p99=${RES[sync-map.p99_ms]-}
  [[ -n $rps ]] || return 0
  if [[ -z $ref ]]; then
    echo "p99 $(calc "$p99 < 5 ? \"< 5 ms ✓\" : \">= 5 ms ✗\""); no reference run"
    return 0
  fi
  local pct
  pct=$(calc "100 * $rps / $ref")
  if [[ $(calc "($pct >= 60 && $p99 < 5) ? 1 : 0") == 1 ]]; then
    printf 'PASS (%.0f %% of reference, p99 %.2f ms)' "$pct" "$p99"
  else
    printf 'MISS (%.0f %% of reference, need ≥ 60 %%; p99 %.2f ms, need < 5)' "$pct" "$p99"
  fi
}
verdict_async() {
  local rps=${RES[async.rps]-}
  [[ -n $rps ]] || return 0
  if [[ $(calc "($rps >= 15000 && $(r async.non2xx) == 0) ? 1 : 0") == 1 ]]; then
    printf 'PASS (%.0f accepted/s)' "$rps"
  else
    printf 'MISS (%.0f accepted/s, need ≥ 15000 with no errors)' "$rps"
  fi
}
verdict_ordered() {
  local p=${RES[ordered.v_processed_per_s]-}
  [[ -n $p ]] || return 0
  if [[ $(calc "($p >= 6000) ? 1 : 0") == 1 && $(r ordered.v_order_ok) == 1 ]]; then
    printf 'PASS (%.0f processed/s in order)' "$p"
  else
    printf 'MISS (%.0f processed/s, order ok: %s; need ≥ 6000 in strict order)' "$p" "$( [[ $(r ordered.v_order_ok) == 1 ]] && echo yes || echo NO)"
  fi
}

verdict_http() {
  local rps=${RES[http-step.rps]-}
  [[ -n $rps ]] || return 0
  if [[ $(calc "($rps >= 5000 && $(r http-step.non2xx) == 0) ? 1 : 0") == 1 ]]; then
    printf 'PASS (%.0f calls/s)' "$rps"
  else
    printf 'MISS (%.0f calls/s, need ≥ 5000 with no errors)' "$rps"
  fi
}

row() { # LABEL "description" "target" "verdict"
  local l=$1
  [[ -n ${RES[$l.rps]-} ]] || return 0
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$2" "$(num "$l.rps")" "$(ms "$l.p50_ms")" "$(ms "$l.p90_ms")" "$(ms "$l.p99_ms")" \
    "$(r "$l.non2xx")" "$(r "$l.socket_errors")" "$(r "$l.bad_body")" "$4"
}

queue_row() {
  local l=$1
  [[ -n ${RES[$l.rps]-} ]] || return 0
  local order="–"
  if [[ $l == ordered ]]; then
    if [[ $(r ordered.v_order_ok) == 1 ]]; then order="strict ✓ ($(r ordered.v_sequenced) executions)"; else order="VIOLATED ✗"; fi
    order="$order; received_at behind the previous sequence: $(r ordered.v_received_backwards)× (≤ $(r ordered.v_received_backwards_max_ms) ms)"
  fi
  local backlog
  backlog=$(r "$l.v_backlog_rate_per_s")
  [[ $backlog =~ ^[0-9.]+$ ]] && backlog=$(printf '%.0f' "$backlog") || backlog="– (no backlog)"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$l" "$(r "$l.accepted")" "$(r "$l.v_measured")" \
    "$( [[ $(r "$l.drain_ok") == 1 ]] && printf '%.2f' "$(r "$l.drain_s")" || echo "timeout ($(r "$l.drain_s") s)")" \
    "$(num "$l.v_processed_per_s")" "$backlog" \
    "$(r "$l.v_succeeded") / $(r "$l.v_total")" "$(r "$l.v_statuses")" "$order"
}

model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1 || true)
fs_type=$(df -T "$DATA_DIR" 2>/dev/null | awk 'NR == 2 { print $2 }' || true)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then git_rev="$git_rev (uncommitted changes)"; fi
fg_version="binary not used"
if (( NEED_FLOWGATE )); then
  fg_version="\`$(timeout 5 "$FLOWGATE_BIN" --version 2>/dev/null | head -n 1 || echo flowgate)\` built $(date -u -r "$FLOWGATE_BIN" +%Y-%m-%dT%H:%M:%SZ)"
fi
fg_env=$(env | grep -E '^FLOWGATE_' | sort | sed -E \
  -e 's/^(FLOWGATE_[A-Z_]*PASSWORD[A-Z_]*)=.*/\1=(hidden)/' \
  -e 's#^(FLOWGATE_DATABASE_URL)=([a-z]+:).*#\1=\2...#' || true)

report() {
  cat <<EOF
# Flowgate benchmark results

Generated by \`bench/run.sh\` on $START_DATE (finished $(date -u +%Y-%m-%dT%H:%M:%SZ)).

## Machine and conditions

- CPU: ${model:-unknown}, $(nproc) logical cores (wrk and the servers share them${WRK_CPUS:+; wrk pinned to CPUs $WRK_CPUS}${SERVER_CPUS:+; servers pinned to CPUs $SERVER_CPUS})
- Other load: CPUs ${BUSY_BEFORE}% busy in the second before the run (should be near 0); load average before: $START_LOAD, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
- Kernel: $(uname -srm)
- Rust: $(rustc --version 2>/dev/null || echo unknown)
- wrk: $(wrk -v 2>&1 | head -n 1 || true)
- Flowgate: commit $git_rev; $fg_version; SQLite data dir on ${fs_type:-unknown} (\`$TMP_PARENT\`)
- Flowgate settings from the environment: ${fg_env:+$(tr '\n' ' ' <<<"$fg_env")}${fg_env:-none (defaults)}
- Load: \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 10s --latency -s bench/post.lua\`, $( (( WARMUP_S > 0 )) && echo "after a $WARMUP warm-up per workload" || echo "no warm-up")
- Memory:

\`\`\`
$(free -h)
\`\`\`

## Throughput and latency

Latency is measured by wrk from request sent to response received (p50/p90/p99 in ms).
"non-2xx" counts every answer outside 200–299; "bad bodies" counts 2xx answers whose body
was not the expected one.

| workload | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | bad bodies | target |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
$(
    row reference "reference (bare actix-web, same JSON work)" "" "ceiling for sync-map"
    row sync-map "sync-map (request-response, 3 steps)" "" "$(verdict_sync)"
    row async "async accept (202, durable)" "" "$(verdict_async)"
    row ordered "ordered async accept (202, durable)" "" "$(verdict_ordered)"
    row http-step "http-step (request-response, one HTTP call to the reference)" "" "$(verdict_http)"
  )
EOF
  if (( AB_ROUNDS > 0 )); then
    cat <<EOF

## Reference and Flowgate alternately (A B A B)

$AB_ROUNDS rounds; in each, the reference ran $DURATION and then Flowgate's sync-map ran $DURATION,
with both servers up the whole time. The table above shows round $(r ab.round), the one with the
median ratio ($(printf '%.3f' "$(r ab.ratio)")).

| round | reference req/s | reference p99 ms | flowgate req/s | flowgate p50 ms | flowgate p99 ms | flowgate / reference |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
$(printf '%s\n' "${AB_LINES[@]}")
EOF
  fi
  if [[ -n ${RES[async.rps]-}${RES[ordered.rps]-} ]]; then
    cat <<EOF

## Queue: drain and order

"accepted" is the number of 202 answers in the measured run; "executions" those the API lists
for it (received after the measured run started; a few more than accepted is normal: calls in
flight when wrk stopped). "drain" is the time from the end of the load until no execution of
the integration was queued or running. "processed/s" is executions finished per second
between the first start and the last finish of the measured run: when the workers keep up
(drain ≈ 0) it is just the arrival rate, a lower bound of their capacity. "backlog worked
off/s" is the rate at which executions still waiting when the load ended were finished
(shown when at least 100 were): the workers' capacity without new arrivals. The order check covers
every execution of \`bench-ordered\` (warm-up included), sorted by sequence: sequences are
unique, started_at and finished_at never go backwards, none starts before the previous one
finished, and all succeeded. received_at stamps that fall behind the previous sequence are
counted but allowed: calls arriving at the same moment on different connections have no
defined order.

| workload | accepted | executions | drain after load (s) | processed/s | backlog worked off/s | succeeded / all | statuses (all runs) | order |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
$(
    queue_row async
    queue_row ordered
  )
EOF
  fi
  cat <<EOF

## Status codes

EOF
  local l
  for l in reference sync-map http-step async ordered; do
    [[ -n ${RES[$l.rps]-} ]] && echo "- $l: $(r "$l.statuses")"
  done
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
  for l in reference sync-map async ordered; do
    [[ -f $RUN_DIR/wrk-$l.txt ]] || continue
    printf '\n<details><summary>%s</summary>\n\n```\n' "$l"
    grep -v '^BENCH_' "$RUN_DIR/wrk-$l.txt" || true
    printf '```\n</details>\n'
  done
}

mkdir -p "$(dirname "$RESULTS")"
report >"$RESULTS.tmp"
mv -f "$RESULTS.tmp" "$RESULTS"

echo
sed -n '/^## Throughput and latency/,/^## Status codes/p' "$RESULTS" | sed '$d'
echo "Report written to $RESULTS"

if (( ${#FAILED[@]} > 0 )); then
  log "${#FAILED[@]} check(s) failed:"
  for f in "${FAILED[@]}"; do log "  - $f"; done
  KEEP=1
  exit 3
fi
log "all checks passed"
