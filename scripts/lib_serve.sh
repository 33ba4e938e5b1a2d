# Serve the app for a test against the live HTTP API; sourced by scripts/contract_test.sh and
# scripts/fuzz.sh, never run by itself.
#
#   source scripts/lib_serve.sh
#   serve_app NAME        a throw-away PostgreSQL database NAME_<pid> with demo data, a staff
#                         user `contract` and its API token, gunicorn on 127.0.0.1:$PORT;
#                         sets PORT, TOKEN, BASE_URL and ARTIFACTS, and stops everything on exit
#
# Settings: CONTRACT_PORT (default derived from the pid), SERVE_WORKERS (gunicorn workers,
# default 2), SERVE_SALES (demo sales, default 40), ARTIFACTS (default test-artifacts/NAME),
# SERVE_LOG (a file for the app's own log lines; default: this script's stderr),
# SERVE_GUNICORN_ARGS (more gunicorn options).
# The app runs as on a developer machine (DJANGO_ENV unset: plain HTTP, no HTTPS redirect)
# with the login throttle raised, since every request comes from one address.

_serve_gunicorn_pid=""
_serve_db_name=""

_serve_cleanup() {
    if [[ -n "$_serve_gunicorn_pid" ]]; then
        kill "$_serve_gunicorn_pid" 2>/dev/null && wait "$_serve_gunicorn_pid" 2>/dev/null
    fi
    if [[ -n "$_serve_db_name" ]]; then
        PG_START_TIMEOUT=5 scripts/ensure_postgres.sh drop "$_serve_db_name" >/dev/null 2>&1 || true
    fi
    return 0
}

serve_app() {
    local name="$1" py=.venv/bin/python
    _serve_db_name="${name}_$$"
    PORT="${CONTRACT_PORT:-$((20000 + $$ % 20000))}"
    ARTIFACTS="${ARTIFACTS:-test-artifacts/$name}"
    BASE_URL="http://127.0.0.1:$PORT"
    mkdir -p "$ARTIFACTS"
    trap _serve_cleanup EXIT

    DATABASE_URL="$(scripts/ensure_postgres.sh create "$_serve_db_name")"
    export DATABASE_URL
    export DJANGO_SECRET_KEY="serve-$(date +%s%N)" DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost"
    export API_AUTH_THROTTLE_RATE="100000/minute" DJANGO_LOG_LEVEL=WARNING
    # The API-wide rate limits stay on, far above what a test sends (per second: short counter histories).
    export API_RATE_LIMIT_USER="100000/s" API_RATE_LIMIT_ANON="100000/s"

    $py manage.py migrate --noinput -v0
    $py manage.py seed_demo --sales "${SERVE_SALES:-40}" -v0
    $py manage.py shell -v0 -c "
from django.contrib.auth import get_user_model
u, _ = get_user_model().objects.get_or_create(username='contract', defaults={'is_staff': True, 'is_superuser': True})
u.set_password('contract-pass-1'); u.save()"
    TOKEN="$($py manage.py create_api_token contract | awk '{print $NF}')"

    if [[ -n "${SERVE_LOG:-}" ]]; then exec 3>>"$SERVE_LOG"; else exec 3>&2; fi
    # shellcheck disable=SC2086  # SERVE_GUNICORN_ARGS is a list of options
    .venv/bin/gunicorn salesproject.wsgi --bind "127.0.0.1:$PORT" --workers "${SERVE_WORKERS:-2}" --timeout 60 \
        --access-logfile /dev/null --error-logfile "$ARTIFACTS/gunicorn.log" \
        ${SERVE_GUNICORN_ARGS:-} 2>&3 &
    _serve_gunicorn_pid=$!
    exec 3>&-
}
