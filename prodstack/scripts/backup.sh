#!/usr/bin/env bash
# Dumps one PostgreSQL database to S3 with its checksum and a manifest of every table's row
# count, verifies what S3 stored, and only then moves the `latest` pointer to it.
# Any failure exits non-zero and leaves `latest` where it was.
#
# Environment (contract: docs/components/db-backup.md):
#   PGHOST PGUSER PGDATABASE [PGPORT] [PGSSLMODE] ...  libpq connection
#   PGPASSWORD_FILE (a file holding the password) or PGPASSFILE (a libpq password file)
#   BACKUP_BUCKET, BACKUP_PREFIX (default database/)
#   AWS credentials from the standard chain; AWS_ENDPOINT_URL for S3-compatible endpoints
#   SCRATCH_DIR (default $TMPDIR or /tmp): room for one dump
set -euo pipefail
# A closed pipe (a helper that died) is an error to report, not a silent kill.
trap '' PIPE

SCRIPT=backup
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

snapshot_pid=""
cleanup() {
  local status=$?
  if [ -n "$snapshot_pid" ]; then
    kill "$snapshot_pid" 2>/dev/null || true
  fi
  [ -n "${WORKDIR:-}" ] && rm -rf "$WORKDIR"
  if [ "$status" -ne 0 ]; then
    log "exit $status; latest was not moved"
  fi
  exit "$status"
}
trap cleanup EXIT

require_env BACKUP_BUCKET PGHOST PGUSER PGDATABASE
normalize_prefix
make_workdir
setup_password

created_epoch="$(date -u +%s)"
stamp="$(date -u -d "@$created_epoch" +%Y%m%dT%H%M%SZ)"
created_at="$(date -u -d "@$created_epoch" +%Y-%m-%dT%H:%M:%SZ)"
out="$WORKDIR/$stamp"
mkdir "$out"
log "starting backup $stamp of database $PGDATABASE on $PGHOST:${PGPORT:-5432} to $(s3_url "$stamp/")"

# Fail fast, before a long dump, when the bucket is missing, unreachable or not ours to list;
# and never overwrite a backup (two runs within one second would share a stamp).
existing="$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX$stamp/" \
  --max-keys 1 --no-paginate --output text --query KeyCount)" ||
  fail "cannot list $(s3_url '') (bucket missing, S3 unreachable or access denied)"
[ "$existing" = 0 ] ||
  fail "a backup named $stamp already exists; not overwriting it"
log "bucket $BACKUP_BUCKET is reachable"

# Hold one snapshot open, so the row counts and the dump see exactly the same data.
coproc SNAPSHOT { psql_batch; }
snapshot_pid=$!
# Bash unsets SNAPSHOT once psql has exited (a refused login can be that quick).
snapshot_in=${SNAPSHOT[1]:-}
snapshot_out=${SNAPSHOT[0]:-}
snapshot=""
if [ -n "$snapshot_in" ] && [ -n "$snapshot_out" ] &&
  printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;' \
    'SELECT pg_export_snapshot();' >&"$snapshot_in"; then
  read -r -t "$((PGCONNECT_TIMEOUT + 30))" snapshot <&"$snapshot_out" || true
fi
[[ "$snapshot" =~ ^[0-9A-F-]+$ ]] ||
  fail "cannot open a snapshot on $PGHOST:${PGPORT:-5432} as $PGUSER (database down or login refused)"
log "holding snapshot $snapshot"

psql_batch --set snapshot="$snapshot" --set counts="$TABLE_COUNTS_SQL" >"$out/tables.json" <<'SQL' ||
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET TRANSACTION SNAPSHOT :'snapshot';
-- Like pg_dump: fail rather than count only the rows a row-level security policy shows.
SET LOCAL row_security = off;
SELECT jsonb_build_object(
  'database', current_database(),
  'serverVersion', current_setting('server_version'),
  'tables', (:counts));
COMMIT;
SQL
  fail "cannot count the rows of $PGDATABASE"
tables="$(tr -d '\n' <"$out/tables.json")"
rm "$out/tables.json"
log "counted the rows of every table in the snapshot"

pg_dump --snapshot="$snapshot" --format=custom --file="$out/$DUMP_NAME" ||
  fail "pg_dump of $PGDATABASE failed"
printf 'COMMIT;\n' >&"$snapshot_in" || true
exec {snapshot_in}>&-
wait "$snapshot_pid" || true
snapshot_pid=""

bytes="$(wc -c <"$out/$DUMP_NAME" | tr -d ' ')"
sha256="$(sha256sum "$out/$DUMP_NAME" | cut -d ' ' -f 1)"
[ "$bytes" -gt 0 ] || fail "pg_dump wrote an empty file"
printf '%s  %s\n' "$sha256" "$DUMP_NAME" >"$out/$CHECKSUM_NAME"
pg_dump_version="$(pg_dump --version)"
pg_dump_version="${pg_dump_version//\\/\\\\}"
pg_dump_version="${pg_dump_version//\"/\\\"}"
printf '{"format": %s, "stamp": "%s", "createdAt": "%s", "createdEpoch": %s, "object": "%s", "bytes": %s, "sha256": "%s", "pgDump": "%s", "snapshot": %s}\n' \
  "$MANIFEST_FORMAT" "$stamp" "$created_at" "$created_epoch" "$BACKUP_PREFIX$stamp/$DUMP_NAME" \
  "$bytes" "$sha256" "$pg_dump_version" "$tables" >"$out/$MANIFEST_NAME"
log "dumped $PGDATABASE: $bytes bytes, sha256 $sha256"

s3_cp --recursive "$out/" "$(s3_url "$stamp/")" ||
  fail "upload to $(s3_url "$stamp/") failed"
log "uploaded $DUMP_NAME, $CHECKSUM_NAME and $MANIFEST_NAME"

# Read the dump back from S3: what matters is what S3 stored, not what we sent.
mkfifo "$WORKDIR/verify.fifo"
wc -c <"$WORKDIR/verify.fifo" >"$WORKDIR/verify.bytes" &
counter=$!
s3_cp "$(s3_url "$stamp/$DUMP_NAME")" - | tee "$WORKDIR/verify.fifo" |
  sha256sum >"$WORKDIR/verify.sha256" || fail "cannot read $(s3_url "$stamp/$DUMP_NAME") back"
wait "$counter"
stored_bytes="$(tr -d ' \n' <"$WORKDIR/verify.bytes")"
stored_sha256="$(cut -d ' ' -f 1 <"$WORKDIR/verify.sha256")"
[ "$stored_bytes" = "$bytes" ] ||
  fail "S3 holds $stored_bytes bytes of $DUMP_NAME, $bytes were uploaded"
[ "$stored_sha256" = "$sha256" ] ||
  fail "S3 holds $DUMP_NAME with sha256 $stored_sha256, $sha256 was uploaded"
log "verified the stored dump: $stored_bytes bytes, sha256 matches"

printf '%s\n' "$stamp" | s3_cp --content-type text/plain - "$(s3_url "$LATEST_NAME")" ||
  fail "cannot move $(s3_url "$LATEST_NAME") to $stamp"
log "latest now points to $stamp; backup complete"
