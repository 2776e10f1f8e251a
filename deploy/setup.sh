#!/bin/sh
# The one-off set-up of a Prefect server for o2c: wait until the server answers, create the ledger's
# schema in PostgreSQL when O2C_LEDGER_URL names an empty database, then create the `o2c` process work
# pool and register every deployment of prefect.yaml. Needs PREFECT_API_URL and
# the project's virtualenv on PATH; runs from the project folder. compose's `setup` service and the
# o2c-setup systemd unit both run it; running it again changes nothing.
set -eu
cd "${O2C_PROJECT_DIR:-$(dirname "$0")/..}"
python - <<'PY'
import os, sys, time, urllib.request

url = os.environ["PREFECT_API_URL"].rstrip("/") + "/health"
for _ in range(90):
    try:
        urllib.request.urlopen(url, timeout=3)
        sys.exit(0)
    except OSError:
        time.sleep(2)
sys.exit(f"the Prefect server at {url} did not answer in 3 minutes")
PY
# a ledger in PostgreSQL (O2C_LEDGER_URL) gets its schema when its database is still empty
if [ -n "${O2C_LEDGER_URL:-}" ] && ! o2c status >/dev/null 2>&1; then
    o2c ledger migrate --to "$O2C_LEDGER_URL"
fi
prefect work-pool create o2c --type process --overwrite
prefect --no-prompt deploy --all
