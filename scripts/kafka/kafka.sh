#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker + controller) on loopback for the
# tests and CI, without Docker: the jars come from Maven Central through scripts/kafka/pom.xml and
# run on the machine's Java 17.
#
#   scripts/kafka/kafka.sh start   fetch the jars once into $KAFKA_HOME_DIR/lib, write
#                                  server.properties, format the storage once (cluster id kept in
#                                  $KAFKA_HOME_DIR/cluster.id), start the broker in the background and
#                                  wait until a client sees it; idempotent
#   scripts/kafka/kafka.sh stop    SIGTERM, up to $KAFKA_STOP_TIMEOUT s, then SIGKILL; data is kept
#   scripts/kafka/kafka.sh status  exit 0 when the broker started here answers a client, else 1
#   scripts/kafka/kafka.sh reset   stop and delete the data dir (not the jars)
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HOME_DIR (.kafka, relative to
# the repo root), KAFKA_VERSION (the one in pom.xml), KAFKA_START_TIMEOUT (90 s),
# KAFKA_STOP_TIMEOUT (30 s), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_MVN_ARGS (extra mvn args).
# Readiness is a client-side check: kafkajs admin describeCluster() listing a broker (node), else
# `kcat -L` if installed. The broker's output goes to $KAFKA_HOME_DIR/kafka.log.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
cd "$ROOT"

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
HOME_DIR="${KAFKA_HOME_DIR:-.kafka}"
case "$HOME_DIR" in /*) ;; *) HOME_DIR="$ROOT/$HOME_DIR" ;; esac
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
POM="$SCRIPT_DIR/pom.xml"
VERSION="${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")}"

LIB="$HOME_DIR/lib"
DATA="$HOME_DIR/data"
PROPS="$HOME_DIR/server.properties"
CLUSTER_ID_FILE="$HOME_DIR/cluster.id"
PID_FILE="$HOME_DIR/kafka.pid"
LOG="$HOME_DIR/kafka.log"
BOOTSTRAP="127.0.0.1:$PORT"

say() { printf 'kafka.sh: %s\n' "$*"; }
die() {
  printf 'kafka.sh: %s\n' "$*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The pid in $PID_FILE if that process is alive and is the broker started with $PROPS.
our_pid() {
  local pid args
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then args="$(tr '\0' ' ' <"/proc/$pid/cmdline")"; else args="$(ps -o args= -p "$pid" || true)"; fi
  case "$args" in *kafka.Kafka*"$PROPS"*) echo "$pid" ;; *) return 1 ;; esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The client for the readiness check: node + kafkajs (after `npm ci`), else kcat, else none.
client() {
  if command -v node >/dev/null && [ -f "$ROOT/node_modules/kafkajs/package.json" ]; then
    echo kafkajs
  elif command -v kcat >/dev/null; then
    echo kcat
  else
    die "no client for the readiness check: run 'npm ci' (kafkajs) or install kcat"
  fi
}

# One client-side readiness check against $BOOTSTRAP.
probe() {
  case "$CLIENT" in
    kafkajs) timeout 10 node "$SCRIPT_DIR/probe.mjs" "$BOOTSTRAP" >/dev/null 2>&1 ;;
    *) timeout 10 kcat -L -b "$BOOTSTRAP" -m 5 2>/dev/null | grep -q ' 1 brokers:' ;;
  esac
}

# The version of the kafka_2.13 jar in $LIB (what `start` runs).
running_version() {
  local jar
  for jar in "$LIB"/kafka_2.13-*.jar; do
    jar="${jar##*/kafka_2.13-}"
    echo "${jar%.jar}"
    return 0
  done
}

fetch_jars() {
  local stamp
  stamp="kafka $VERSION pom $(sha256sum "$POM" | cut -c1-16)"
  if [ -f "$LIB/.stamp" ] && [ "$(cat "$LIB/.stamp")" = "$stamp" ] && [ -f "$LIB/kafka_2.13-$VERSION.jar" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: Maven is needed to fetch the Kafka jars"
  say "fetching Kafka $VERSION jars into $LIB (mvn)"
  rm -rf "$LIB.tmp"
  # shellcheck disable=SC2086 # KAFKA_MVN_ARGS is a list of arguments
  mvn -B -q -f "$POM" ${KAFKA_MVN_ARGS:-} dependency:copy-dependencies -DincludeScope=runtime \
    -Dkafka.version="$VERSION" -DoutputDirectory="$LIB.tmp" >"$HOME_DIR/mvn.log" 2>&1 ||
    { cat "$HOME_DIR/mvn.log" >&2; die "mvn could not fetch the Kafka $VERSION jars"; }
  [ -f "$LIB.tmp/kafka_2.13-$VERSION.jar" ] || die "mvn did not produce kafka_2.13-$VERSION.jar"
  echo "$stamp" >"$LIB.tmp/.stamp"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
}

write_props() {
  cat >"$PROPS" <<EOF
# Written by scripts/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

cluster_id() {
  local id=""
  if [ -f "$DATA/meta.properties" ]; then id="$(sed -n 's/^cluster.id=//p' "$DATA/meta.properties")"; fi
  if [ -z "$id" ] && [ -f "$CLUSTER_ID_FILE" ]; then id="$(cat "$CLUSTER_ID_FILE")"; fi
  while [ -z "$id" ] || [ "${id#-}" != "$id" ]; do
    # 16 random bytes as unpadded base64url (22 chars), not starting with '-' (as Kafka's Uuid).
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  echo "$id" >"$CLUSTER_ID_FILE"
  echo "$id"
}

# The java command line for a main class of the Kafka jars, in JAVA_ARGS (nohup needs a program).
java_args() {
  # shellcheck disable=SC2206 # HEAP_OPTS is a list of arguments
  JAVA_ARGS=(java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2.properties" -cp "$LIB/*" "$@")
}

format_storage() {
  [ -f "$DATA/meta.properties" ] && return 0
  local id
  id="$(cluster_id)"
  say "formatting $DATA (cluster id $id)"
  mkdir -p "$DATA"
  java_args kafka.tools.StorageTool format -t "$id" -c "$PROPS"
  "${JAVA_ARGS[@]}" >>"$LOG" 2>&1 ||
    { tail -n 20 "$LOG" >&2; die "storage format failed"; }
}

stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE"
}

# Polls until the broker answers; on death or after $START_TIMEOUT s from $2, log tail and exit 1.
wait_ready() {
  local pid="$1" t0="$2" deadline
  deadline="$(awk -v a="$t0" -v t="$START_TIMEOUT" 'BEGIN { printf "%d", a + t }')"
  until probe; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      say "the broker (pid $pid) exited during start-up; last lines of $LOG:" >&2
      tail -n 40 "$LOG" >&2
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "the broker (pid $pid) was not ready within ${START_TIMEOUT}s; last lines of $LOG:" >&2
      tail -n 40 "$LOG" >&2
      stop_pid "$pid"
      exit 1
    fi
    sleep 0.5
  done
}

# Create __consumer_offsets and start the producer-id manager now rather than in the first test
# (kafkajs only; a failure here is a warning: the broker already answers).
warm_up() {
  [ "$CLIENT" = kafkajs ] || return 0
  local out
  if out="$(timeout 60 node "$SCRIPT_DIR/probe.mjs" "$BOOTSTRAP" --warm 2>&1)"; then
    say "$(printf '%s' "$out" | grep -m1 '^warm-up' || echo 'warm-up done') (group coordinator, producer id)"
  else
    say "warning: warm-up failed (tests may see retries): $out" >&2
  fi
}

cmd_start() {
  local t0 pid t_fetch t_java t_ready
  t0="$(now)"
  mkdir -p "$HOME_DIR"
  if pid="$(our_pid)"; then
    grep -qx "listeners=PLAINTEXT://$BOOTSTRAP,CONTROLLER://127.0.0.1:$CONTROLLER_PORT" "$PROPS" ||
      die "pid $pid runs with other ports ($(grep '^listeners=' "$PROPS")): run 'stop' first"
    if probe; then
      say "already running and healthy: Kafka $(running_version) on $BOOTSTRAP (pid $pid)"
      return 0
    fi
    say "pid $pid is running but not ready yet: waiting"
    wait_ready "$pid" "$t0"
    say "Kafka $(running_version) ready on $BOOTSTRAP (pid $pid) after waiting $(since "$t0")s"
    return 0
  fi
  rm -f "$PID_FILE"
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by a process not started here (no live pid in $PID_FILE)"
  done

  fetch_jars
  t_fetch="$(since "$t0")"
  write_props
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.prev"
  format_storage

  t_java="$(now)"
  java_args kafka.Kafka "$PROPS"
  nohup "${JAVA_ARGS[@]}" >>"$LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid" "$t_java"
  t_ready="$(since "$t_java")"
  warm_up
  say "Kafka $(running_version) ready on $BOOTSTRAP (pid $pid): broker answered after ${t_ready}s," \
    "total $(since "$t0")s (jars ${t_fetch}s); log $LOG"
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping pid $pid"
  local t0
  t0="$(now)"
  stop_pid "$pid"
  say "stopped in $(since "$t0")s (data kept in $DATA)"
}

cmd_status() {
  local pid
  if ! pid="$(our_pid)"; then
    say "not running"
    return 1
  fi
  if probe; then
    say "healthy: Kafka $(running_version) on $BOOTSTRAP (pid $pid)"
    return 0
  fi
  say "pid $pid is running but $BOOTSTRAP does not answer"
  return 1
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA"
  say "deleted $DATA"
}

# One start/stop/reset at a time per $KAFKA_HOME_DIR (e.g. several test workers calling start).
lock() {
  mkdir -p "$HOME_DIR"
  command -v flock >/dev/null || return 0
  exec 9>"$HOME_DIR/kafka.lock"
  flock -w "$((START_TIMEOUT + STOP_TIMEOUT + 300))" 9 || die "timed out waiting for another kafka.sh on $HOME_DIR"
}

case "${1:-}" in
  start)
    CLIENT="$(client)" || exit 1
    lock
    cmd_start
    ;;
  stop) lock && cmd_stop ;;
  status)
    CLIENT="$(client)" || exit 1
    cmd_status
    ;;
  reset) lock && cmd_reset ;;
  *) die "usage: $0 start|stop|status|reset" ;;
esac
