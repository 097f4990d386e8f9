#!/usr/bin/env bash
# Restores the backup that `latest` points to into a fresh scratch database, streaming it from
# S3 into pg_restore (nothing on disk) with its size and sha256 checked on the way, and compares
# every table's row count with the manifest the backup recorded. Exits non-zero on any error or
# mismatch; the scratch database is dropped afterwards either way.
#
# Environment (contract: docs/components/db-backup.md):
#   PGHOST PGUSER [PGPORT] [PGDATABASE] ...  libpq connection to the server to restore into;
#                                            PGDATABASE is the maintenance database (postgres)
#   PGPASSWORD_FILE (a file holding the password) or PGPASSFILE (a libpq password file)
#   RESTORE_DATABASE (default prodstack_restore_check): the scratch database, created fresh
#   BACKUP_BUCKET, BACKUP_PREFIX (default database/)
#   BACKUP_MAX_AGE_SECONDS (default 0: no limit): fail when the latest backup is older
#   RESTORE_ESTIMATE_TOLERANCE_PERCENT (default 20), RESTORE_ESTIMATE_TOLERANCE_ROWS (default
#     1000): how far a restored table may be from the row estimate the backup recorded
#   AWS credentials from the standard chain; AWS_ENDPOINT_URL for S3-compatible endpoints
#   SCRATCH_DIR (default $TMPDIR or /tmp): room for a few small files
set -euo pipefail
trap '' PIPE

SCRIPT=restore-check
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCRATCH_MARKER='prodstack restore-check scratch database'
created_scratch=""

cleanup() {
  local status=$?
  digest_stop
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
trap 'exit 143' TERM
trap 'exit 130' INT

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
RESTORE_ESTIMATE_TOLERANCE_PERCENT="${RESTORE_ESTIMATE_TOLERANCE_PERCENT:-20}"
RESTORE_ESTIMATE_TOLERANCE_ROWS="${RESTORE_ESTIMATE_TOLERANCE_ROWS:-1000}"
[[ "$RESTORE_DATABASE" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
  fail "RESTORE_DATABASE '$RESTORE_DATABASE' must be lower-case letters, digits and '_'"
[ "$RESTORE_DATABASE" != "$PGDATABASE" ] ||
  fail "RESTORE_DATABASE must differ from PGDATABASE, the maintenance database"
[[ "$BACKUP_MAX_AGE_SECONDS" =~ ^[0-9]+$ ]] ||
  fail "BACKUP_MAX_AGE_SECONDS must be a whole number of seconds"
require_whole_number RESTORE_ESTIMATE_TOLERANCE_PERCENT
require_whole_number RESTORE_ESTIMATE_TOLERANCE_ROWS
normalize_prefix
make_workdir
setup_password

stamp="$(s3_cp "$(s3_url "$LATEST_NAME")" - | tr -d '\r\n')" ||
  fail "cannot read $(s3_url "$LATEST_NAME") (no backup yet, bucket missing or S3 unreachable)"
[[ "$stamp" =~ $STAMP_PATTERN ]] || fail "$(s3_url "$LATEST_NAME") holds '$stamp', not a backup stamp"
log "latest points to $stamp"
dump_key="$BACKUP_PREFIX$stamp/$DUMP_NAME"

s3_cp --recursive --exclude '*' --include "$MANIFEST_NAME" --include "$CHECKSUM_NAME" \
  "$(s3_url "$stamp/")" "$WORKDIR/" || fail "cannot download from $(s3_url "$stamp/")"
for name in "$MANIFEST_NAME" "$CHECKSUM_NAME"; do
  [ -f "$WORKDIR/$name" ] || fail "$(s3_url "$stamp/$name") is missing"
done
log "downloaded the manifest of backup $stamp"

# The lifecycle rule expires superseded backups: the latest one must never carry that tag.
tag="$(object_tag "$dump_key")" || fail "cannot read the tags of $(s3_url "$stamp/$DUMP_NAME") (is it missing?)"
[ "$tag" != "$TAG_SUPERSEDED" ] ||
  fail "the latest backup $stamp is tagged $TAG_KEY=$TAG_SUPERSEDED: the lifecycle rule will expire it"

# What the backup recorded, read by PostgreSQL itself (no JSON tool needed in the image), and
# the version of the server restored into.
manifest_fields="$(maintenance --set manifest_file="$WORKDIR/$MANIFEST_NAME" \
  --field-separator='|' <<'SQL'
\set manifest `cat :'manifest_file'`
SELECT m->>'format', m->>'stamp', m->>'bytes', m->>'sha256', m->>'createdEpoch',
       m->'snapshot'->>'database', jsonb_array_length(m->'snapshot'->'tables'),
       (SELECT count(*) FROM jsonb_array_elements(m->'snapshot'->'tables') t
         WHERE t->>'count' = 'estimate'),
       coalesce(m->'snapshot'->>'serverVersionNum', ''), coalesce(m->'snapshot'->>'serverVersion', ''),
       coalesce(m->>'pgDump', ''), current_setting('server_version_num'),
       current_setting('server_version')
  FROM (SELECT :'manifest'::jsonb AS m) AS manifest;
SQL
)" || fail "cannot read $MANIFEST_NAME (is the restore server up and the login right?)"
IFS='|' read -r format manifest_stamp bytes sha256 created_epoch database table_count \
  estimated_count source_version_num source_version pg_dump_banner restore_version_num \
  restore_version <<<"$manifest_fields"
[[ "$MANIFEST_FORMATS_READ" == *" $format "* ]] ||
  fail "$MANIFEST_NAME has format '$format'; this restore check reads formats$MANIFEST_FORMATS_READ"
[ "$manifest_stamp" = "$stamp" ] || fail "$MANIFEST_NAME is for backup '$manifest_stamp', not $stamp"
[[ "$bytes" =~ ^[0-9]+$ && "$sha256" =~ ^[0-9a-f]{64}$ && "$created_epoch" =~ ^[0-9]+$ ]] ||
  fail "$MANIFEST_NAME lacks a valid size, sha256 or creation time"
[[ "$table_count" =~ ^[0-9]+$ ]] || fail "$MANIFEST_NAME lacks the table row counts"
log "manifest: database $database, $table_count tables, $bytes bytes"

# Versions: pg_restore reads dumps of its own major version and older; PostgreSQL restores
# dumps of its own major version and older. Say which side to change.
pg_restore_version="$(client_version pg_restore)"
if [[ "$pg_dump_banner" =~ \(PostgreSQL\)\ ([0-9]+(\.[0-9]+)?) ]]; then
  dumped_with="${BASH_REMATCH[1]}"
  if [ "$(major_of "$dumped_with")" -gt "$(major_of "$pg_restore_version")" ]; then
    fail "pg_restore $pg_restore_version cannot read a dump made by pg_dump $dumped_with; use a backup image with PostgreSQL $(major_of "$dumped_with") client tools (dbBackup.image)"
  fi
fi
restore_version="${restore_version%% *}"
if [[ "$source_version_num" =~ ^[0-9]+$ ]] &&
  [ "$(major_of "$restore_version_num")" -lt "$(major_of "$source_version_num")" ]; then
  fail "the restore server runs PostgreSQL $restore_version, older than the backup's server ${source_version%% *}; restore into PostgreSQL $(major_of "$source_version_num") or newer (restoreCheck.database)"
fi

if [ "$BACKUP_MAX_AGE_SECONDS" -gt 0 ]; then
  age=$(($(date -u +%s) - created_epoch))
  [ "$age" -le "$BACKUP_MAX_AGE_SECONDS" ] ||
    fail "the latest backup is ${age}s old, more than BACKUP_MAX_AGE_SECONDS=$BACKUP_MAX_AGE_SECONDS"
  log "the latest backup is ${age}s old"
fi

recorded_sha256="$(cut -d ' ' -f 1 <"$WORKDIR/$CHECKSUM_NAME")"
[ "$recorded_sha256" = "$sha256" ] ||
  fail "$CHECKSUM_NAME ($recorded_sha256) and $MANIFEST_NAME ($sha256) disagree"

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
# template0, as pg_dump's documentation advises: nothing a site added to template1 collides.
maintenance <<'SQL' || fail "cannot create scratch database $RESTORE_DATABASE"
CREATE DATABASE :"scratch" TEMPLATE template0;
COMMENT ON DATABASE :"scratch" IS :'marker';
SQL
log "created scratch database $RESTORE_DATABASE"

# The extensions the backup's database had: try to create each one in a transaction that is
# rolled back, as the role that restores, and name every one it cannot create, with why.
# A superuser creates any installed extension; any other role only trusted ones (CREATE
# privilege on the database suffices, the owner of the scratch database has it).
extension_problems="$(psql_batch --dbname="$RESTORE_DATABASE" \
  --set manifest_file="$WORKDIR/$MANIFEST_NAME" <<'SQL'
\set manifest `cat :'manifest_file'`
SET client_min_messages = warning;
BEGIN;
SELECT set_config('prodstack.extensions',
                  coalesce((:'manifest'::jsonb)->'snapshot'->'extensions', '[]')::text,
                  true) AS ignored \gset
DO $$
DECLARE
  wanted record;
  hint text;
  problems text[] := '{}';
BEGIN
  FOR wanted IN SELECT e->>'name' AS name
                  FROM jsonb_array_elements(current_setting('prodstack.extensions')::jsonb) e
  LOOP
    BEGIN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I CASCADE', wanted.name);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
      problems := problems || (wanted.name || ': ' || SQLERRM
                               || CASE WHEN hint <> '' THEN ' (' || hint || ')' ELSE '' END);
    END;
  END LOOP;
  PERFORM set_config('prodstack.extension_problems', array_to_string(problems, E'\n'), true);
END
$$;
SELECT current_setting('prodstack.extension_problems');
ROLLBACK;
SQL
)" || fail "cannot check the extensions backup $stamp needs"
if [ -n "$extension_problems" ]; then
  while IFS= read -r line; do
    log "extension $line"
  done <<<"$extension_problems"
  fail "backup $stamp needs extensions that $PGUSER cannot create on $PGHOST: $(printf '%s' "$extension_problems" | cut -d : -f 1 | paste -s -d ' ')" \
    "(restore as a superuser, make them trusted, or install them on the restore server)"
fi

# Stream the dump from S3 into pg_restore, sizing and hashing it on the way. pg_restore reads a
# custom-format archive from a pipe front to back (one job: --jobs needs a seekable file);
# whatever it leaves unread is drained, so the checksum always covers the whole object.
digest_start restore
set +e
s3_stream_object "$dump_key" | tee --output-error=exit "${DIGEST_FIFOS[@]}" | (
  pg_restore --exit-on-error --no-owner --no-privileges --dbname="$RESTORE_DATABASE"
  restored=$?
  cat >/dev/null
  exit "$restored"
)
pipe_status=("${PIPESTATUS[@]}")
set -e
digest_finish || fail "cannot compute the size and sha256 of $DUMP_NAME"
[ "${pipe_status[0]}" = 0 ] || fail "cannot read $(s3_url "$stamp/$DUMP_NAME")"
[ "$DIGEST_BYTES" = "$bytes" ] ||
  fail "$DUMP_NAME has $DIGEST_BYTES bytes, the backup recorded $bytes (truncated or replaced)"
[ "$DIGEST_SHA256" = "$sha256" ] ||
  fail "$DUMP_NAME has sha256 $DIGEST_SHA256, the backup recorded $sha256 (corrupted)"
log "checksum verified: $bytes bytes, sha256 $sha256"
[ "${pipe_status[2]}" = 0 ] || fail "pg_restore of backup $stamp failed"
log "restored backup $stamp into $RESTORE_DATABASE"

# Exact counts must match exactly. An estimate (pg_class.reltuples, for tables larger than the
# backup's exactCountMaxBytes) must be within the tolerance: the larger of the percentage of
# the estimate and the row count.
mismatches="$(psql_batch --dbname="$RESTORE_DATABASE" --set counts="$RESTORED_COUNTS_SQL" \
  --set manifest_file="$WORKDIR/$MANIFEST_NAME" \
  --set percent="$RESTORE_ESTIMATE_TOLERANCE_PERCENT" \
  --set slack="$RESTORE_ESTIMATE_TOLERANCE_ROWS" <<'SQL'
\set manifest `cat :'manifest_file'`
WITH expected AS (
  SELECT "schema", "table", "rows", coalesce("count", 'exact') AS "count"
    FROM jsonb_to_recordset((:'manifest'::jsonb)->'snapshot'->'tables')
         AS t("schema" text, "table" text, "rows" bigint, "count" text)
), actual AS (
  SELECT * FROM jsonb_to_recordset((:counts)) AS t("schema" text, "table" text, "rows" bigint)
)
SELECT format('%I.%I: the backup %s %s, the restore has %s%s',
              coalesce(e."schema", a."schema"), coalesce(e."table", a."table"),
              CASE WHEN e."count" = 'estimate' THEN 'estimated' ELSE 'recorded' END,
              CASE WHEN e."table" IS NULL THEN 'no such table'
                   WHEN e."rows" IS NULL THEN 'an unknown number of rows'
                   ELSE e."rows" || ' rows' END,
              coalesce(a."rows" || ' rows', 'no such table'),
              CASE WHEN e."count" = 'estimate' AND a."table" IS NOT NULL
                   THEN format(' (more than %s%% and %s rows apart)', :percent, :slack)
                   ELSE '' END)
  FROM expected e FULL JOIN actual a ON a."schema" = e."schema" AND a."table" = e."table"
 WHERE e."table" IS NULL OR a."table" IS NULL
    OR (e."count" = 'exact' AND e."rows" IS DISTINCT FROM a."rows")
    OR (e."count" = 'estimate' AND e."rows" IS NOT NULL
        AND abs(a."rows" - e."rows") > greatest(e."rows" * :percent / 100.0, :slack))
 ORDER BY 1;
SQL
)" || fail "cannot count the rows of the restored database"
if [ -n "$mismatches" ]; then
  while IFS= read -r line; do
    log "mismatch: $line"
  done <<<"$mismatches"
  fail "row counts of backup $stamp differ from its manifest"
fi
log "all $table_count tables match the manifest ($((table_count - estimated_count)) counted exactly, $estimated_count within the tolerance of their estimates); restore check passed for backup $stamp"
