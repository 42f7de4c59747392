#!/bin/sh
# LEAP's service commands, in one place: deploy/compose.yaml runs exactly these lines, and so do the
# tests and the orchestration bench. Usage: deploy/commands.sh <service> [args]
#
#   code-server          the gRPC code server: leap_dagster.definitions, or the file LEAP_DEFINITIONS_FILE
#                        names (deploy/celery_definitions.py in the distributed profile)
#   webserver            the Dagster UI on :3000, reading deploy/workspace.yaml (LEAP_WORKSPACE overrides)
#   daemon               applies the pool limits, then runs the daemon (sensors, run queue, monitoring)
#   migrate              `leap db upgrade`: the one place LEAP's schema is migrated (advisory lock; ADR 0028)
#   pools                sets the concurrency pool limits: leap_core/pools.py's table, LEAP_POOL_<NAME>
#                        overrides (idempotent; the same code as `leap init` and the pool_limits_sensor)
#   celery-worker Q...   a Celery worker for the given queues (one per pool in the distributed profile)
#   webhooks             the Zoom webhook receiver on :8787 (optional: polling is the backstop)
set -eu

LEAP_ROOT=${LEAP_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
WORKSPACE=${LEAP_WORKSPACE:-$LEAP_ROOT/deploy/workspace.yaml}

service=${1:?usage: commands.sh code-server|webserver|daemon|migrate|pools|celery-worker QUEUE...}
shift
case "$service" in
    code-server)
        if [ -n "${LEAP_DEFINITIONS_FILE:-}" ]; then set -- -f "$LEAP_DEFINITIONS_FILE"; else set -- -m leap_dagster.definitions; fi
        exec dagster code-server start -h "${LEAP_CODE_SERVER_BIND:-0.0.0.0}" -p "${LEAP_CODE_SERVER_PORT:-4000}" \
            -d "$LEAP_ROOT" "$@" ;;
    webserver)
        exec dagster-webserver -h 0.0.0.0 -p "${LEAP_WEBSERVER_PORT:-3000}" -w "$WORKSPACE" ;;
    daemon)
        "$0" pools
        exec dagster-daemon run -w "$WORKSPACE" ;;
    migrate)
        exec leap db upgrade ;;
    pools)
        python -m leap_dagster.pools apply >/dev/null ;;
    celery-worker)
        [ $# -gt 0 ] || set -- dagster
        # Celery takes a worker's queues as one comma-separated -Q (a repeated -Q keeps only the last).
        # LEAP_CELERY_QUEUE_PREFIX namespaces them (deployments sharing one Redis), as the executor does.
        queues=$(for queue in "$@"; do printf '%s%s,' "${LEAP_CELERY_QUEUE_PREFIX:-}" "$queue"; done)
        queues=${queues%,}
        exec dagster-celery worker start -A dagster_celery.app -y "$LEAP_ROOT/deploy/celery.yaml" -q "$queues" \
            -- --concurrency "${LEAP_CELERY_CONCURRENCY:-1}" ;;
    webhooks)
        exec leap webhooks serve --host "${LEAP_WEBHOOKS_BIND:-0.0.0.0}" --port "${LEAP_WEBHOOKS_PORT:-8787}" ;;
    *)
        echo "unknown service: $service" >&2
        exit 2 ;;
esac
