#!/usr/bin/env bash
# Stops what scripts/run-all.sh started: SIGTERM to services first, nats-server
# last (so services can drain), SIGKILL to anything still alive after 5 s.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=data/run
[ -d "$RUN/pids" ] || { echo "nothing running"; exit 0; }
order="oms-server router binance-spot binance-futures archiver oms-core venue-sim nats-server"
for name in $order; do
  f="$RUN/pids/$name.pid"; [ -f "$f" ] || continue
  kill -TERM "$(cat "$f")" 2>/dev/null
  [ "$name" = "venue-sim" ] && sleep 0.5  # let services drain before the broker goes
done
for _ in $(seq 1 50); do
  alive=0
  for f in "$RUN"/pids/*.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.1
done
for f in "$RUN"/pids/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then echo "killing $(basename "$f" .pid) (pid $pid)"; kill -KILL "$pid" 2>/dev/null; fi
  rm -f "$f"
done
echo "all stopped"
