#!/usr/bin/env bash
# Restores the backup that `latest` points to into a fresh scratch database and compares every
# table's row count with the manifest the backup recorded. Exits non-zero on any error or
# mismatch; the scratch database is dropped afterwards either way.
#
# Environment (contract: docs/components/db-backup.md):
#   PGHOST PGUSER [PGPORT] [PGDATABASE] ...  libpq connection to the server to restore into;
#                                            PGDATABASE is the maintenance database (postgres)
#   PGPASSWORD_FILE (a file holding the password) or PGPASSFILE (a libpq password file)
#   RESTORE_DATABASE (default prodstack_restore_check): the scratch database, created fresh
#   BACKUP_BUCKET, BACKUP_PREFIX (default database/)
#   BACKUP_MAX_AGE_SECONDS (default 0: no limit): fail when the latest backup is older
#   AWS credentials from the standard chain; AWS_ENDPOINT_URL for S3-compatible endpoints
#   SCRATCH_DIR (default $TMPDIR or /tmp): room for one dump
set -euo pipefail
trap '' PIPE

SCRIPT=restore-check
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCRATCH_MARKER='prodstack restore-check scratch database'
created_scratch=""

cleanup() {
  local status=$?
  if [ -n "$created_scratch" ]; then
    if drop_scratch; then
      log "dropped scratch database $RESTORE_DATABASE"
    else
      log "could not drop scratch database $RESTORE_DATABASE; the next run drops it"
      [ "$status" -ne 0 ] || status=1
    fi
  fi
  [ -n "${WORKDIR:-}" ] && rm -rf "$WORKDIR"
  if [ "$status" -ne 0 ]; then
    log "exit $status; restore check FAILED"
  fi
  exit "$status"
}
trap cleanup EXIT

# The maintenance connection (PGDATABASE) creates and drops the scratch database.
maintenance() {
  psql_batch --dbname="$PGDATABASE" --set scratch="$RESTORE_DATABASE" \
    --set marker="$SCRATCH_MARKER" "$@"
}

# Drops the scratch database only when it carries this script's marker comment.
drop_scratch() {
  maintenance <<'SQL'
SELECT shobj_description(oid, 'pg_database') IS NOT DISTINCT FROM :'marker' AS ours
  FROM pg_database WHERE datname = :'scratch' \gset
\if :{?ours}
  \if :ours
    DROP DATABASE :"scratch";
  \endif
\endif
SQL
}

require_env BACKUP_BUCKET PGHOST PGUSER
export PGDATABASE="${PGDATABASE:-postgres}"
RESTORE_DATABASE="${RESTORE_DATABASE:-prodstack_restore_check}"
BACKUP_MAX_AGE_SECONDS="${BACKUP_MAX_AGE_SECONDS:-0}"
[[ "$RESTORE_DATABASE" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
  fail "RESTORE_DATABASE '$RESTORE_DATABASE' must be lower-case letters, digits and '_'"
[ "$RESTORE_DATABASE" != "$PGDATABASE" ] ||
  fail "RESTORE_DATABASE must differ from PGDATABASE, the maintenance database"
[[ "$BACKUP_MAX_AGE_SECONDS" =~ ^[0-9]+$ ]] ||
  fail "BACKUP_MAX_AGE_SECONDS must be a whole number of seconds"
normalize_prefix
make_workdir
setup_password

stamp="$(s3_cp "$(s3_url "$LATEST_NAME")" - | tr -d '\r\n')" ||
  fail "cannot read $(s3_url "$LATEST_NAME") (no backup yet, bucket missing or S3 unreachable)"
[[ "$stamp" =~ $STAMP_PATTERN ]] || fail "$(s3_url "$LATEST_NAME") holds '$stamp', not a backup stamp"
log "latest points to $stamp"

s3_cp --recursive "$(s3_url "$stamp/")" "$WORKDIR/" ||
  fail "cannot download $(s3_url "$stamp/")"
for name in "$DUMP_NAME" "$CHECKSUM_NAME" "$MANIFEST_NAME"; do
  [ -f "$WORKDIR/$name" ] || fail "$(s3_url "$stamp/$name") is missing"
done
log "downloaded backup $stamp"

# What the backup recorded, read by PostgreSQL itself (no JSON tool needed in the image).
manifest_fields="$(maintenance --set manifest_file="$WORKDIR/$MANIFEST_NAME" \
  --field-separator=' ' <<'SQL'
\set manifest `cat :'manifest_file'`
SELECT m->>'format', m->>'stamp', m->>'bytes', m->>'sha256', m->>'createdEpoch',
       m->'snapshot'->>'database', jsonb_array_length(m->'snapshot'->'tables')
  FROM (SELECT :'manifest'::jsonb AS m) AS manifest;
SQL
)" || fail "cannot read $MANIFEST_NAME (is the restore server up and the login right?)"
read -r format manifest_stamp bytes sha256 created_epoch database table_count <<<"$manifest_fields"
[ "$format" = "$MANIFEST_FORMAT" ] || fail "$MANIFEST_NAME has format '$format', expected $MANIFEST_FORMAT"
[ "$manifest_stamp" = "$stamp" ] || fail "$MANIFEST_NAME is for backup '$manifest_stamp', not $stamp"
[[ "$bytes" =~ ^[0-9]+$ && "$sha256" =~ ^[0-9a-f]{64}$ && "$created_epoch" =~ ^[0-9]+$ ]] ||
  fail "$MANIFEST_NAME lacks a valid size, sha256 or creation time"
[[ "$table_count" =~ ^[0-9]+$ ]] || fail "$MANIFEST_NAME lacks the table row counts"
log "manifest: database $database, $table_count tables, $bytes bytes"

if [ "$BACKUP_MAX_AGE_SECONDS" -gt 0 ]; then
  age=$(($(date -u +%s) - created_epoch))
  [ "$age" -le "$BACKUP_MAX_AGE_SECONDS" ] ||
    fail "the latest backup is ${age}s old, more than BACKUP_MAX_AGE_SECONDS=$BACKUP_MAX_AGE_SECONDS"
  log "the latest backup is ${age}s old"
fi

actual_bytes="$(wc -c <"$WORKDIR/$DUMP_NAME" | tr -d ' ')"
actual_sha256="$(sha256sum "$WORKDIR/$DUMP_NAME" | cut -d ' ' -f 1)"
recorded_sha256="$(cut -d ' ' -f 1 <"$WORKDIR/$CHECKSUM_NAME")"
[ "$recorded_sha256" = "$sha256" ] ||
  fail "$CHECKSUM_NAME ($recorded_sha256) and $MANIFEST_NAME ($sha256) disagree"
[ "$actual_bytes" = "$bytes" ] ||
  fail "$DUMP_NAME has $actual_bytes bytes, the backup recorded $bytes (truncated or replaced)"
[ "$actual_sha256" = "$sha256" ] ||
  fail "$DUMP_NAME has sha256 $actual_sha256, the backup recorded $sha256 (corrupted)"
log "checksum verified: $actual_bytes bytes, sha256 $sha256"

# Never touch a database of that name that this script did not create.
existing="$(maintenance <<'SQL'
SELECT 'exists:' || coalesce(shobj_description(oid, 'pg_database'), '')
  FROM pg_database WHERE datname = :'scratch';
SQL
)" || fail "cannot list the databases on $PGHOST:${PGPORT:-5432} as $PGUSER"
if [ -n "$existing" ]; then
  [ "$existing" = "exists:$SCRATCH_MARKER" ] ||
    fail "database $RESTORE_DATABASE exists and was not made by restore-check; refusing to drop it"
  drop_scratch || fail "cannot drop the leftover scratch database $RESTORE_DATABASE"
  log "dropped a leftover scratch database $RESTORE_DATABASE"
fi
created_scratch=yes
maintenance <<'SQL' || fail "cannot create scratch database $RESTORE_DATABASE"
CREATE DATABASE :"scratch";
COMMENT ON DATABASE :"scratch" IS :'marker';
SQL
log "created scratch database $RESTORE_DATABASE"

pg_restore --exit-on-error --no-owner --no-privileges --dbname="$RESTORE_DATABASE" \
  "$WORKDIR/$DUMP_NAME" || fail "pg_restore of backup $stamp failed"
log "restored backup $stamp into $RESTORE_DATABASE"

mismatches="$(psql_batch --dbname="$RESTORE_DATABASE" --set counts="$TABLE_COUNTS_SQL" \
  --set manifest_file="$WORKDIR/$MANIFEST_NAME" <<'SQL'
\set manifest `cat :'manifest_file'`
WITH expected AS (
  SELECT * FROM jsonb_to_recordset((:'manifest'::jsonb)->'snapshot'->'tables')
         AS t("schema" text, "table" text, "rows" bigint)
), actual AS (
  SELECT * FROM jsonb_to_recordset((:counts)) AS t("schema" text, "table" text, "rows" bigint)
)
SELECT format('%I.%I: the backup recorded %s, the restore has %s',
              coalesce(e."schema", a."schema"), coalesce(e."table", a."table"),
              coalesce(e."rows" || ' rows', 'no such table'),
              coalesce(a."rows" || ' rows', 'no such table'))
  FROM expected e FULL JOIN actual a ON a."schema" = e."schema" AND a."table" = e."table"
 WHERE e."rows" IS DISTINCT FROM a."rows"
 ORDER BY 1;
SQL
)" || fail "cannot count the rows of the restored database"
if [ -n "$mismatches" ]; then
  while IFS= read -r line; do
    log "mismatch: $line"
  done <<<"$mismatches"
  fail "row counts of backup $stamp differ from its manifest"
fi
log "all $table_count tables match the manifest; restore check passed for backup $stamp"
