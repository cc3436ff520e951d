#!/bin/bash
# fresh_rounds.sh: paired echo rounds on fresh server processes, for A/B tests
# of one loop under different settings.
#
#   bash bench/fresh_rounds.sh N ROUNDS CONNS SIZE SPEC...
#   bash bench/fresh_rounds.sh 12 4 100 102400 "tideloop" "tideloop|TIDELOOP_KEEP_TICK=0"
#
# A SPEC is C (bench/echo_server.c) or LOOP[|VAR=VALUE...] (a Protocol echo
# server from bench/echo_servers.py, with those environment settings).
# For i in 1..N, every SPEC gets a new server process (in a new random
# order), pinned to CPU 0, and ROUNDS client rounds of 0.5 s after a 0.2 s
# warm-up from build/bench/echo_client on CPU 1 (run bench/echo.py once to
# build it).  Prints "i SPEC cpu_us_per_request..." per process.
#
# Why fresh processes: at large messages a long-lived server can fall into a
# slow state it keeps for many rounds (docs/PERFORMANCE.md, "Protocol 100 KiB
# x100 once more"), so alternating rounds on two long-lived servers compares
# the two processes' states, not their settings.  Pair round k of process i
# of one SPEC with round k of process i of another.
set -e
cd "$(dirname "$0")/.."
N=$1; R=$2; CONNS=$3; SIZE=$4; shift 4
for i in $(seq "$N"); do
  for spec in $(printf "%s\n" "$@" | shuf); do
    loop=${spec%%|*}
    settings=
    [ "$loop" != "$spec" ] && settings=$(echo "${spec#*|}" | tr '|' ' ')
    port=$((24000 + RANDOM % 5000))
    if [ "$loop" = C ]; then
      taskset -c 0 build/bench/echo_server $port > /dev/null 2>&1 &
    else
      taskset -c 0 env $settings .venv/bin/python bench/echo_servers.py --loop "$loop" --mode protocol --port $port > /dev/null 2>&1 &
    fi
    server=$!
    sleep 1.2
    line="$i $spec"
    for r in $(seq "$R"); do
      cpu=$(taskset -c 1 build/bench/echo_client 127.0.0.1 $port "$CONNS" "$SIZE" 0.5 0.2 $server |
            python3 -c "import json, sys; d = json.load(sys.stdin); print('%.2f' % (d['server_cpu_s'] * 1e6 / d['requests']))")
      line="$line $cpu"
    done
    kill $server; wait $server 2>/dev/null || true
    echo "$line"
  done
done
