#!/usr/bin/env bash
# Contract test against the live schema: serve the app with gunicorn on loopback against a
# throw-away PostgreSQL database with demo data, then let schemathesis call every operation
# of /api/schema/ as a staff user. Fails on any 5xx or any response that breaks the schema.
#
#   scripts/contract_test.sh            (CI: called by .ci/run after `make test`)
#   ST_MAX_EXAMPLES=50 scripts/contract_test.sh      more cases per operation
#
# Needs the venv from `make install`. Writes its report to test-artifacts/schemathesis/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=.venv/bin/python
DB_NAME="sales_contract_$$"
PORT="${CONTRACT_PORT:-$((20000 + $$ % 20000))}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-15}"
ARTIFACTS=test-artifacts/schemathesis
mkdir -p "$ARTIFACTS"
gunicorn_pid=""

cleanup() {
    [[ -n "$gunicorn_pid" ]] && kill "$gunicorn_pid" 2>/dev/null && wait "$gunicorn_pid" 2>/dev/null
    PG_START_TIMEOUT=5 scripts/ensure_postgres.sh drop "$DB_NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

DATABASE_URL="$(scripts/ensure_postgres.sh create "$DB_NAME")"
export DATABASE_URL
export DJANGO_SECRET_KEY="contract-$(date +%s%N)" DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost"
export API_AUTH_THROTTLE_RATE="100000/minute" DJANGO_LOG_LEVEL=WARNING

$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --sales 40 -v0
$PY manage.py shell -v0 -c "
from django.contrib.auth import get_user_model
u, _ = get_user_model().objects.get_or_create(username='contract', defaults={'is_staff': True, 'is_superuser': True})
u.set_password('contract-pass-1'); u.save()"
TOKEN="$($PY manage.py create_api_token contract | awk '{print $NF}')"

.venv/bin/gunicorn salesproject.wsgi --bind "127.0.0.1:$PORT" --workers 2 --timeout 60 \
    --access-logfile /dev/null --error-logfile "$ARTIFACTS/gunicorn.log" &
gunicorn_pid=$!

echo "schemathesis: every operation of http://127.0.0.1:$PORT/api/schema/, up to $MAX_EXAMPLES cases each"
.venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
    --wait-for-schema 30 \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --seed "${ST_SEED:-20261123}" \
    --phases examples,coverage,fuzzing \
    --workers 2 \
    --request-timeout 30 \
    --generation-database none \
    --report junit --report-dir "$ARTIFACTS" \
    --no-color
