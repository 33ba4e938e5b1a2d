#!/usr/bin/env bash
# The schema is the SDK: generate a Python client from the schema as the app serves it and import
# every module; generate TypeScript types from it (openapi-typescript) and type-check an integrator's
# create-sale code against them (scripts/client_ts/, `tsc --noEmit --strict`); then lint the schema with
# Redocly's recommended rules (0 errors wanted).
#
#   scripts/client_check.sh              (CI: called by .ci/run)
#   CLIENT_WORKFLOW=0 scripts/client_check.sh    without the live workflow (no PostgreSQL needed)
#
# The workflow (scripts/client_workflow.py) serves the app with gunicorn on a throw-away PostgreSQL
# database (scripts/lib_serve.sh) and runs a seller's day through the generated package only.
#
# Tools come from the registries into a temp dir (nothing is added to the project): openapi-python-client
# into a throw-away venv, openapi-typescript and typescript by `npm install` there, @redocly/cli through
# npx. If a registry cannot be reached, that check is SKIPPED with the reason printed; any other failure
# fails the script. Needs the venv from `make install`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OPC_VERSION="${OPC_VERSION:-0.29.1}"
REDOCLY_VERSION="${REDOCLY_VERSION:-2.77.0}"
OPENAPI_TS_VERSION="${OPENAPI_TS_VERSION:-7.13.0}"
TYPESCRIPT_VERSION="${TYPESCRIPT_VERSION:-5.9.3}"   # openapi-typescript 7 wants typescript ^5
RUFF_VERSION="${RUFF_VERSION:-$(.venv/bin/ruff --version | cut -d" " -f2)}"
PYTHON="${PYTHON:-python3}"
WORKFLOW="${CLIENT_WORKFLOW:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0

.venv/bin/python manage.py spectacular --validate --fail-on-warn --file "$work/schema.yml"
echo "schema: $(grep -c 'operationId:' "$work/schema.yml") operations"

echo "== openapi-python-client $OPC_VERSION"
"$PYTHON" -m venv "$work/venv"
if ! "$work/venv/bin/pip" install -q --disable-pip-version-check "openapi-python-client==$OPC_VERSION" "ruff==$RUFF_VERSION" \
    >"$work/pip.log" 2>&1; then
    if grep -qiE "connection|resolve|network|timed out|no matching distribution|could not find a version" "$work/pip.log"; then
        echo "SKIP python client: openapi-python-client could not be installed from the package index:"
        tail -3 "$work/pip.log"
    else
        cat "$work/pip.log"
        failed=1
    fi
else
    # ruff in PATH: the generator's own post-processing runs, as on an integrator's machine.
    if PATH="$work/venv/bin:$PATH" "$work/venv/bin/openapi-python-client" generate \
        --path "$work/schema.yml" --config scripts/client_py/config.yml --output-path "$work/client" \
        >"$work/generate.log" 2>&1; then
        if grep -qi "warning" "$work/generate.log"; then
            cat "$work/generate.log"
            failed=1
        fi
        if "$work/venv/bin/python" scripts/client_import_check.py "$work/client" && ((WORKFLOW)); then
            echo "== a seller's workflow through the generated client, against gunicorn + PostgreSQL"
            (
                # shellcheck source=scripts/lib_serve.sh
                source scripts/lib_serve.sh
                serve_app sales_client
                "$work/venv/bin/python" scripts/client_workflow.py "$work/client" "$BASE_URL" "$TOKEN"
            ) || failed=1
        elif ((!WORKFLOW)); then
            :
        else
            failed=1
        fi
    else
        cat "$work/generate.log"
        failed=1
    fi
fi

echo "== TypeScript types: openapi-typescript@$OPENAPI_TS_VERSION, tsc --noEmit --strict (typescript@$TYPESCRIPT_VERSION)"
if ! command -v npm >/dev/null; then
    echo "SKIP typescript types: npm (Node.js) is not installed"
else
    mkdir "$work/npm" "$work/ts"
    printf '{"private": true}\n' >"$work/npm/package.json"
    if ! (cd "$work/npm" && timeout 300 npm install --no-audit --no-fund --no-package-lock --loglevel=error \
        "openapi-typescript@$OPENAPI_TS_VERSION" "typescript@$TYPESCRIPT_VERSION") >"$work/npm.log" 2>&1; then
        if grep -qiE "ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network" "$work/npm.log"; then
            echo "SKIP typescript types: openapi-typescript/typescript could not be fetched from the npm registry:"
            grep -m1 -iE "request to .* failed|ETIMEDOUT|network" "$work/npm.log" || tail -3 "$work/npm.log"
        else
            cat "$work/npm.log"
            failed=1
        fi
    else
        # As docs/clients.md tells integrators: without --default-non-nullable=false, openapi-typescript
        # makes every request field that has a default (item discount, payment method, ...) required.
        cp scripts/client_ts/* "$work/ts/"
        if ! (cd "$work" && npm/node_modules/.bin/openapi-typescript schema.yml --default-non-nullable=false \
            -o ts/sales-api.d.ts) >"$work/openapi-ts.log" 2>&1 ||
            grep -qiE "warn|error|⚠" "$work/openapi-ts.log"; then
            cat "$work/openapi-ts.log"
            failed=1
        elif ! (cd "$work/ts" && ../npm/node_modules/.bin/tsc -p . --noEmit --strict --pretty false) \
            >"$work/tsc.log" 2>&1; then
            cat "$work/tsc.log"
            failed=1
        else
            echo "types: $(awk '/^    schemas: \{/ { s = 1; next } s && /^    [a-z}]/ { s = 0 }
                s && /^        [A-Za-z0-9_]+: / { n++ } END { print n + 0 }' "$work/ts/sales-api.d.ts") schemas;" \
                "tsc --strict: 0 errors in $(cd scripts/client_ts && echo *.ts)"
        fi
    fi
fi

echo "== redocly lint (recommended rules but no-path-trailing-slash), @redocly/cli@$REDOCLY_VERSION"
if ! command -v npx >/dev/null; then
    echo "SKIP redocly lint: npx (Node.js) is not installed"
else
    printf 'extends: [recommended]\nrules:\n  no-path-trailing-slash: off\n' >"$work/redocly.yaml"
    rc=0
    (cd "$work" && timeout 300 npx --yes "@redocly/cli@$REDOCLY_VERSION" lint schema.yml --format=stylish) \
        >"$work/lint.log" 2>&1 || rc=$?
    if ((rc != 0)) && ! grep -q "validated in" "$work/lint.log"; then
        if grep -qiE "ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network|registry" "$work/lint.log"; then
            echo "SKIP redocly lint: @redocly/cli could not be fetched from the npm registry:"
            tail -3 "$work/lint.log"
        else
            cat "$work/lint.log"
            failed=1
        fi
    else
        grep -E "^\s+[0-9]+:[0-9]+|Validation|Woohoo|valid" "$work/lint.log" || true
        ((rc == 0)) || failed=1
    fi
fi

exit "$failed"
