#!/usr/bin/env bash
# Fuzz pass over the live API: like scripts/contract_test.sh (same server, same demo data, as a
# staff user), but with many more cases per operation and the stateful phase, which chains
# calls through links schemathesis infers from the schema (POST /sales/ → its id →
# /sales/{id}/confirm/ → …) and from Location headers. Fails on any 5xx, any response that
# breaks the schema, and any stateful-check failure (a created resource that cannot be read
# back, a deleted one that still answers, a route that ignores missing credentials).
#
#   make fuzz                                   (not run by .ci/run: it takes a while)
#   ST_MAX_EXAMPLES=300 scripts/fuzz.sh         more cases per operation (default 100)
#   ST_SEED=1 scripts/fuzz.sh                   another sequence (default: a fixed seed)
#
# Needs PostgreSQL (scripts/ensure_postgres.sh) and the venv from `make install`.
# Writes a JUnit report, the app's log and gunicorn's to test-artifacts/fuzz/; prints the number of
# operations and cases at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
ARTIFACTS=test-artifacts/fuzz
# shellcheck source=scripts/lib_serve.sh
source scripts/lib_serve.sh
# Thousands of expected 4xx log lines: into a file, next to the gunicorn log. No request-line
# limit: otherwise gunicorn itself answers a long generated query string with 414, a status no
# Django view produces (in production the proxy in front sets such limits).
SERVE_LOG="$ARTIFACTS/app.log" SERVE_WORKERS="${SERVE_WORKERS:-3}" SERVE_GUNICORN_ARGS="--limit-request-line 0" \
    serve_app sales_fuzz

echo "schemathesis (fuzz): $BASE_URL/api/schema/, up to $MAX_EXAMPLES cases per operation, stateful phase on"
.venv/bin/schemathesis run "$BASE_URL/api/schema/" \
    --wait-for-schema 30 \
    --header "Authorization: Bearer $TOKEN" \
    --checks "${ST_CHECKS:-not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance,use_after_free,ensure_resource_availability,ignored_auth}" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "${ST_SEED:-20261124}" \
    --phases examples,coverage,fuzzing,stateful \
    --workers 2 \
    --request-timeout 30 \
    --generation-database none \
    --report junit --report-dir "$ARTIFACTS" \
    --no-color
