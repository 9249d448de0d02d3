#!/bin/sh
# lapor-healthcheck RETRIES GRACE COMMAND [ARG...]
#
# A container's health check that also heals: Docker marks a container unhealthy but never
# restarts it (`restart: unless-stopped` acts only when the main process exits). This
# runs COMMAND; after RETRIES failures in a row it stops every process of the container
# (TERM, then KILL 5 s later), so the main process exits and the restart policy starts a
# fresh one. Failures in the first GRACE seconds of the container count for nothing (a
# slow start is not a hang). Needs `init: true` in compose: a signal whose default action
# ends a process is ignored by a PID 1 that has no handler for it, so the service must run
# under Docker's init, which `kill -1` spares and which exits when the service does.
set -u
retries=$1
grace=$2
shift 2
counter=${LAPOR_HEALTH_COUNTER:-/tmp/lapor-health-failures}

if "$@" >/dev/null 2>&1; then
    rm -f "$counter"
    exit 0
fi

started=$(awk '{print $22}' /proc/1/stat)
uptime=$(awk '{print int($1)}' /proc/uptime)
# Busybox images (prometheus, grafana) have no getconf: Linux's USER_HZ is 100 there.
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
age=$((uptime - started / hz))
if [ "$age" -lt "$grace" ]; then
    echo "unhealthy during the first ${grace} s (${age} s up): not counted"
    exit 1
fi

failures=$(($(cat "$counter" 2>/dev/null || echo 0) + 1))
echo "$failures" >"$counter"
if [ "$failures" -ge "$retries" ]; then
    rm -f "$counter"
    echo "unhealthy ${failures} times in a row: stopping the service so it restarts"
    kill -s TERM -- -1 2>/dev/null
    sleep 5
    kill -s KILL -- -1 2>/dev/null
fi
exit 1
