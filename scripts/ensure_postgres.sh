#!/usr/bin/env bash
# Make sure the local PostgreSQL server is up and hand out a throw-away database.
# Used by .ci/run; reusable by anything else that needs a scratch database (benchmarks).
#
#   scripts/ensure_postgres.sh up              start the server if needed, wait until it accepts connections
#   scripts/ensure_postgres.sh create NAME     ...then create database NAME if missing; print its DATABASE_URL
#   scripts/ensure_postgres.sh drop NAME       drop NAME and test_NAME (pytest-django's copy), if they exist
#   scripts/ensure_postgres.sh restart         restart cluster PG_CLUSTER (pg_ctlcluster; root or its owner), wait
#                                              until it accepts connections (e.g. after ALTER SYSTEM of a preload)
#   source scripts/ensure_postgres.sh create NAME    the same as create, but exports DATABASE_URL instead
#
# Messages go to stderr; stdout carries only the URL. NAME: lower-case letters, digits, _.
#
# Authentication, in this order:
#   1. TCP as PG_USER (default postgres) on PG_HOST:PG_PORT (default 127.0.0.1:5432), with
#      PGPASSWORD when it is set (or ~/.pgpass). Trust auth, the usual case, needs nothing.
#      The URL is postgres://postgres[:PGPASSWORD]@127.0.0.1:5432/NAME.
#   2. If the server asks for a password we do not have: connect through the local socket
#      (PG_SOCKET_DIR, default /var/run/postgresql) as the `postgres` OS user (runuser or su as
#      root, otherwise sudo -n), create a login role NAME with a random password and CREATEDB
#      (pytest-django creates test_NAME), owning the database; the URL uses that role.
#      `drop NAME` removes the role again (only roles this script created: marked by a comment).
#
# Settings: PG_HOST, PG_PORT, PG_USER, PG_CLUSTER (default "15 main", for pg_ctlcluster),
# PG_SOCKET_DIR, PGPASSWORD, PG_START_TIMEOUT (seconds, default 30).

_pg_main() {
    local PG_HOST="${PG_HOST:-127.0.0.1}" PG_PORT="${PG_PORT:-5432}" PG_USER="${PG_USER:-postgres}"
    local PG_CLUSTER="${PG_CLUSTER:-15 main}" PG_SOCKET_DIR="${PG_SOCKET_DIR:-/var/run/postgresql}"
    local PG_START_TIMEOUT="${PG_START_TIMEOUT:-30}"
    local ROLE_MARK="throw-away role created by scripts/ensure_postgres.sh"

    log() { echo "ensure_postgres: $*" >&2; }
    die() { log "error: $*"; exit 1; }

    urlquote() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

    # psql over TCP as PG_USER; never prompts (-w), never reads stdin.
    psql_tcp() {
        psql -X -w -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@" </dev/null
    }
    tcp_ok() { psql_tcp -Atc 'select 1' >/dev/null 2>&1; }

    # psql through the local socket as the postgres OS user (peer auth).
    psql_socket() {
        local cmd=(psql -X -w -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d postgres "$@")
        if [[ "$(id -un)" == postgres ]]; then
            "${cmd[@]}" </dev/null
        elif [[ $EUID -eq 0 ]] && command -v runuser >/dev/null; then
            (cd / && runuser -u postgres -- "${cmd[@]}" </dev/null)
        elif [[ $EUID -eq 0 ]]; then
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "${cmd[@]}")" </dev/null)
        else
            (cd / && sudo -n -u postgres -- "${cmd[@]}" </dev/null)
        fi
    }

    # Sets PSQL_ADMIN to the function that can run admin SQL.
    pick_admin() {
        if tcp_ok; then
            PSQL_ADMIN=psql_tcp
        elif psql_socket -Atc 'select 1' >/dev/null 2>&1; then
            log "TCP login as $PG_USER@$PG_HOST:$PG_PORT refused (password needed?); using the local socket as OS user postgres"
            PSQL_ADMIN=psql_socket
        else
            die "cannot log in: TCP as $PG_USER@$PG_HOST:$PG_PORT failed (set PGPASSWORD?), and so did the socket in $PG_SOCKET_DIR as OS user postgres"
        fi
    }

    ensure_up() {
        command -v pg_isready >/dev/null || die "pg_isready not found: install the PostgreSQL client (postgresql-client-15)"
        if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
            return 0
        fi
        log "server on $PG_HOST:$PG_PORT is not ready; starting cluster $PG_CLUSTER"
        if command -v pg_ctlcluster >/dev/null; then
            # shellcheck disable=SC2086  # PG_CLUSTER is "VERSION NAME"
            pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER start >&2 || log "pg_ctlcluster failed; still waiting in case it is starting"
        else
            log "pg_ctlcluster not found; waiting in case the server is starting"
        fi
        local waited=0
        until pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; do
            ((waited < PG_START_TIMEOUT)) || die "server on $PG_HOST:$PG_PORT not ready after ${PG_START_TIMEOUT}s"
            sleep 1
            waited=$((waited + 1))
        done
        log "server ready after ${waited}s"
    }

    restart() {
        command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found: restart the server by hand"
        log "restarting cluster $PG_CLUSTER"
        # shellcheck disable=SC2086  # PG_CLUSTER is "VERSION NAME"
        pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER restart >&2 || die "pg_ctlcluster $PG_CLUSTER restart failed"
        ensure_up
    }

    check_name() {
        [[ "${1:-}" =~ ^[a-z_][a-z0-9_]{0,57}$ ]] || die "database name must match [a-z_][a-z0-9_]* (at most 58 chars), got '${1:-}'"
        case "$1" in postgres | template0 | template1) die "refusing to touch database '$1'" ;; esac
    }

    # Prints "1" when the query returns a row.
    exists() { "$PSQL_ADMIN" -Atc "$1"; }

    create() {
        local db="$1" url
        check_name "$db"
        ensure_up
        pick_admin
        if [[ "$PSQL_ADMIN" == psql_tcp ]]; then
            if [[ -z "$(exists "select 1 from pg_database where datname = '$db'")" ]]; then
                psql_tcp -c "create database \"$db\"" >&2
                log "created database $db"
            fi
            url="postgres://$(urlquote "$PG_USER")${PGPASSWORD:+:$(urlquote "$PGPASSWORD")}@$PG_HOST:$PG_PORT/$db"
        else
            local password
            password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
            if [[ -z "$(exists "select 1 from pg_roles where rolname = '$db'")" ]]; then
                psql_socket -c "create role \"$db\" login createdb" >&2
                psql_socket -c "comment on role \"$db\" is '$ROLE_MARK'" >&2
            fi
            psql_socket -c "alter role \"$db\" password '$password'" >&2
            if [[ -z "$(exists "select 1 from pg_database where datname = '$db'")" ]]; then
                psql_socket -c "create database \"$db\" owner \"$db\"" >&2
                log "created database $db owned by throw-away role $db"
            fi
            PGPASSWORD="$password" psql -X -w -q -h "$PG_HOST" -p "$PG_PORT" -U "$db" -d "$db" -Atc 'select 1' \
                </dev/null >/dev/null ||
                die "role $db cannot log in over TCP with a password; check pg_hba.conf for host $PG_HOST"
            url="postgres://$db:$password@$PG_HOST:$PG_PORT/$db"
        fi
        echo "$url"
    }

    drop() {
        local db="$1"
        check_name "$db"
        ensure_up
        pick_admin
        # WITH (FORCE) ends sessions still connected (e.g. threads of a killed test run).
        local quiet="set client_min_messages = warning"
        "$PSQL_ADMIN" -c "$quiet" -c "drop database if exists \"test_$db\" with (force)" >&2
        "$PSQL_ADMIN" -c "$quiet" -c "drop database if exists \"$db\" with (force)" >&2
        if [[ -n "$(exists "select 1 from pg_roles r where rolname = '$db'
                              and shobj_description(r.oid, 'pg_authid') = '$ROLE_MARK'")" ]]; then
            "$PSQL_ADMIN" -c "drop role \"$db\"" >&2
        fi
        log "dropped database $db (and test_$db if present)"
    }

    case "${1:-}" in
        up) ensure_up ;;
        create) create "${2:-}" ;;
        drop) drop "${2:-}" ;;
        restart) restart ;;
        *) die "usage: ensure_postgres.sh up | create NAME | drop NAME | restart   (or: source it with create NAME)" ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    _pg_main "$@"
else
    # Sourced: run in a subshell so errors and `exit` do not leak into the caller's shell.
    if [[ "${1:-}" == create ]]; then
        if _pg_url="$(set -euo pipefail; _pg_main "$@")"; then
            export DATABASE_URL="$_pg_url"
            unset _pg_url
        else
            unset _pg_url
            return 1
        fi
    else
        (set -euo pipefail; _pg_main "$@")
    fi
fi
