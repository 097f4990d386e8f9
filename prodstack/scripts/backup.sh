#!/usr/bin/env bash
# Streams a dump of one PostgreSQL database to S3 (nothing on disk), with its size and sha256
# computed on the stream and a manifest of every table's row count; reads the stored dump back,
# and only then moves the `latest` pointer to it and marks the backups it supersedes for expiry.
# Any failure exits non-zero and leaves `latest`, and every older backup's tags, as they were.
#
# Environment (contract: docs/components/db-backup.md):
#   PGHOST PGUSER PGDATABASE [PGPORT] [PGSSLMODE] ...  libpq connection (a replica may do)
#   PGPASSWORD_FILE (a file holding the password) or PGPASSFILE (a libpq password file)
#   BACKUP_BUCKET, BACKUP_PREFIX (default database/)
#   BACKUP_EXACT_COUNT_MAX_BYTES (default 1 GiB): tables up to this size are counted exactly,
#     larger ones get the catalog's estimate
#   AWS credentials from the standard chain; AWS_ENDPOINT_URL for S3-compatible endpoints
#   SCRATCH_DIR (default $TMPDIR or /tmp): room for a few small files
set -euo pipefail
# A closed pipe (a helper that died) is an error to report, not a silent kill.
trap '' PIPE

SCRIPT=backup
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

snapshot_pid=""
counts_pid=""
upload_pid=""
upload_hold=""

# The upload reads from a FIFO whose write end this script holds open, so the AWS CLI sees the
# end of the stream only when the script says so. A dump that failed is never completed: the
# CLI gets SIGINT first (it then aborts the multipart upload), and only then does the stream end.
abort_upload() {
  [ -n "$upload_pid" ] || return 0
  kill -INT "$upload_pid" 2>/dev/null || true
  sleep 1 # let the CLI act on the interrupt before it can see the end of the stream
  if [ -n "$upload_hold" ]; then
    exec {upload_hold}>&-
    upload_hold=""
  fi
  wait "$upload_pid" 2>/dev/null || true
  upload_pid=""
  log "stopped the upload of $DUMP_NAME before it completed: S3 holds no object of it"
}

cleanup() {
  local status=$?
  abort_upload
  digest_stop
  local pid
  for pid in "$counts_pid" "$snapshot_pid"; do
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  done
  [ -n "${WORKDIR:-}" ] && rm -rf "$WORKDIR"
  if [ "$status" -ne 0 ]; then
    log "exit $status; latest was not moved"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

require_env BACKUP_BUCKET PGHOST PGUSER PGDATABASE
normalize_prefix
BACKUP_EXACT_COUNT_MAX_BYTES="${BACKUP_EXACT_COUNT_MAX_BYTES:-1073741824}"
require_whole_number BACKUP_EXACT_COUNT_MAX_BYTES
make_workdir
setup_password

created_epoch="$(date -u +%s)"
stamp="$(date -u -d "@$created_epoch" +%Y%m%dT%H%M%SZ)"
created_at="$(date -u -d "@$created_epoch" +%Y-%m-%dT%H:%M:%SZ)"
dump_key="$BACKUP_PREFIX$stamp/$DUMP_NAME"
server="$PGHOST:${PGPORT:-5432}"
log "starting backup $stamp of database $PGDATABASE on $server to $(s3_url "$stamp/")"

# Fail fast, before a long dump, when the bucket is missing, unreachable or not ours to list;
# and never overwrite a backup (two runs within one second would share a stamp).
existing="$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX$stamp/" \
  --max-keys 1 --no-paginate --output text --query KeyCount)" ||
  fail "cannot list $(s3_url '') (bucket missing, S3 unreachable or access denied)"
[ "$existing" = 0 ] ||
  fail "a backup named $stamp already exists; not overwriting it"
log "bucket $BACKUP_BUCKET is reachable"

# pg_dump refuses a server of a newer major version, deep into its run and in its own words:
# check first, and say which image to use instead.
server_facts="$(psql_batch --field-separator='|' --command="SELECT
    current_setting('server_version_num'), current_setting('server_version'),
    pg_is_in_recovery(), pg_database_size(current_database())")" ||
  fail "cannot connect to $server as $PGUSER (database down or login refused)"
IFS='|' read -r server_version_num server_version standby database_bytes <<<"$server_facts"
[[ "$server_version_num" =~ ^[0-9]+$ && "$database_bytes" =~ ^[0-9]+$ ]] ||
  fail "$server answered the version query with '$server_facts'"
server_version="${server_version%% *}"
server_major="$(major_of "$server_version_num")"
pg_dump_version="$(client_version pg_dump)"
if [ "$server_major" -gt "$(major_of "$pg_dump_version")" ]; then
  fail "pg_dump $pg_dump_version cannot dump server $server_version; use a backup image with PostgreSQL $server_major client tools (dbBackup.image)"
fi
if [ "$standby" = t ]; then
  log "PostgreSQL $server_version (a hot standby), pg_dump $pg_dump_version, database $database_bytes bytes"
else
  log "PostgreSQL $server_version, pg_dump $pg_dump_version, database $database_bytes bytes"
fi

# Hold one snapshot open, so the row counts and the dump see exactly the same data (exported
# snapshots work on a hot standby too, PostgreSQL 10 and later).
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
  fail "cannot open a snapshot on $server as $PGUSER"
log "holding snapshot $snapshot"

# The counts run beside the dump, in the same snapshot: small tables exactly, large ones from
# the catalog, so counting adds little to how long the snapshot stays open.
psql_batch --set snapshot="$snapshot" --set max_bytes="$BACKUP_EXACT_COUNT_MAX_BYTES" \
  --set counts="$TABLE_COUNTS_SQL" --set extensions="$EXTENSIONS_SQL" \
  >"$WORKDIR/snapshot.json" 2>"$WORKDIR/counts.log" <<'SQL' &
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET TRANSACTION SNAPSHOT :'snapshot';
-- Like pg_dump: fail rather than count only the rows a row-level security policy shows.
SET LOCAL row_security = off;
SELECT set_config('prodstack.exact_count_max_bytes', :'max_bytes', true) AS ignored \gset
SELECT jsonb_build_object(
  'database', current_database(),
  'serverVersion', current_setting('server_version'),
  'serverVersionNum', current_setting('server_version_num')::int,
  'standby', pg_is_in_recovery(),
  'exactCountMaxBytes', current_setting('prodstack.exact_count_max_bytes')::bigint,
  'extensions', (:extensions),
  'tables', (:counts));
COMMIT;
SQL
counts_pid=$!

# The dump streams to a multipart upload. The expected size only sizes the parts (S3 allows
# 10,000): a custom-format dump is compressed and stays below the database's size on disk,
# the margin covers what does not compress.
expected_bytes=$((database_bytes + database_bytes / 4 + 64 * 1024 * 1024))
mkfifo "$WORKDIR/upload.fifo"
(
  trap - INT # bash starts background jobs with SIGINT ignored; the CLI must see it
  exec aws s3 cp --only-show-errors --expected-size "$expected_bytes" - "$(s3_url "$stamp/$DUMP_NAME")" \
    <"$WORKDIR/upload.fifo"
) &
upload_pid=$!
exec {upload_hold}>"$WORKDIR/upload.fifo"
digest_start dump
set +e
pg_dump --snapshot="$snapshot" --format=custom |
  tee --output-error=exit "${DIGEST_FIFOS[@]}" >&"$upload_hold"
pipe_status=("${PIPESTATUS[@]}")
set -e
# The counts may still be importing the snapshot (a small database dumps faster than psql
# connects): the exporting transaction ends only after them.
wait "$counts_pid" && counts_status=0 || counts_status=$?
counts_pid=""
printf 'COMMIT;\n' >&"$snapshot_in" || true
exec {snapshot_in}>&-
wait "$snapshot_pid" || true
snapshot_pid=""

# A dead upload makes tee fail first and pg_dump second: name the cause, not the consequence.
[ "${pipe_status[1]}" = 0 ] || fail "upload to $(s3_url "$stamp/$DUMP_NAME") failed mid-stream"
if [ "$counts_status" != 0 ]; then
  cat "$WORKDIR/counts.log" >&2
  fail "cannot count the rows of $PGDATABASE"
fi
[ "${pipe_status[0]}" = 0 ] || fail "pg_dump of $PGDATABASE failed"
digest_finish || fail "cannot compute the size and sha256 of the dump"
bytes="$DIGEST_BYTES"
sha256="$DIGEST_SHA256"
[ "$bytes" -gt 0 ] || fail "pg_dump wrote nothing"

# The dump ended well: now, and only now, the upload may see the end of the stream.
exec {upload_hold}>&-
upload_hold=""
upload_status=0
wait "$upload_pid" || upload_status=$?
upload_pid=""
[ "$upload_status" = 0 ] || fail "upload to $(s3_url "$stamp/$DUMP_NAME") failed"
log "streamed $PGDATABASE to $(s3_url "$stamp/$DUMP_NAME"): $bytes bytes, sha256 $sha256"

# Read the dump back from S3: what matters is what S3 stored, not what we sent.
digest_start verify
s3_stream_object "$dump_key" | tee --output-error=exit "${DIGEST_FIFOS[@]}" >/dev/null ||
  fail "cannot read $(s3_url "$stamp/$DUMP_NAME") back"
digest_finish || fail "cannot compute the size and sha256 of the stored dump"
[ "$DIGEST_BYTES" = "$bytes" ] ||
  fail "S3 holds $DIGEST_BYTES bytes of $DUMP_NAME, $bytes were uploaded"
[ "$DIGEST_SHA256" = "$sha256" ] ||
  fail "S3 holds $DUMP_NAME with sha256 $DIGEST_SHA256, $sha256 was uploaded"
log "verified the stored dump: $bytes bytes, sha256 matches"

# The manifest comes last: a folder without one was never a complete backup.
snapshot_json="$(tr -d '\n' <"$WORKDIR/snapshot.json")"
pg_dump_banner="$(pg_dump --version)"
pg_dump_banner="${pg_dump_banner//\\/\\\\}"
pg_dump_banner="${pg_dump_banner//\"/\\\"}"
printf '%s  %s\n' "$sha256" "$DUMP_NAME" >"$WORKDIR/$CHECKSUM_NAME"
printf '{"format": %s, "stamp": "%s", "createdAt": "%s", "createdEpoch": %s, "object": "%s", "bytes": %s, "sha256": "%s", "pgDump": "%s", "snapshot": %s}\n' \
  "$MANIFEST_FORMAT" "$stamp" "$created_at" "$created_epoch" "$dump_key" \
  "$bytes" "$sha256" "$pg_dump_banner" "$snapshot_json" >"$WORKDIR/$MANIFEST_NAME"
mkdir "$WORKDIR/upload"
mv "$WORKDIR/$CHECKSUM_NAME" "$WORKDIR/$MANIFEST_NAME" "$WORKDIR/upload/"
s3_cp --recursive "$WORKDIR/upload/" "$(s3_url "$stamp/")" ||
  fail "upload of $CHECKSUM_NAME and $MANIFEST_NAME to $(s3_url "$stamp/") failed"
log "uploaded $CHECKSUM_NAME and $MANIFEST_NAME"

# The dump is tagged current before latest names it (only superseded objects ever expire); a
# missing tagging permission fails here, with latest unmoved, not at the next backup.
tag_object "$dump_key" "$TAG_CURRENT" ||
  fail "cannot tag $(s3_url "$stamp/$DUMP_NAME") $TAG_KEY=$TAG_CURRENT"

printf '%s\n' "$stamp" | s3_cp --content-type text/plain - "$(s3_url "$LATEST_NAME")" ||
  fail "cannot move $(s3_url "$LATEST_NAME") to $stamp"
log "latest now points to $stamp"

# Every backup older than the new one is superseded: tag it so the lifecycle rule may expire it
# after the retention period. Folders are tagged oldest first and each folder's last key last,
# so a folder whose last key is superseded proves that it and everything older are done: the
# walk from the newest stops there. A run that dies half-way is finished by the next one.
mark_superseded() {
  local - listing key rest folder
  set -f # the keys are words, never patterns
  listing="$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX" \
    --output text --query 'Contents[].Key')" || return 1
  declare -A last_key=()
  declare -A folder_keys=()
  local IFS=$'\t\n'
  for key in $listing; do
    rest="${key#"$BACKUP_PREFIX"}"
    folder="${rest%%/*}"
    [[ "$rest" == */* && "$folder" =~ $STAMP_PATTERN && "$folder" < "$stamp" ]] || continue
    folder_keys[$folder]+="$key"$'\n'
    if [[ -z "${last_key[$folder]:-}" || "$key" > "${last_key[$folder]}" ]]; then
      last_key[$folder]="$key"
    fi
  done
  local newest_first pending=() tag
  newest_first="$(printf '%s\n' "${!last_key[@]}" | sort -r)"
  for folder in $newest_first; do
    tag="$(object_tag "${last_key[$folder]}")" || return 1
    [ "$tag" != "$TAG_SUPERSEDED" ] || break
    pending=("$folder" "${pending[@]}")
  done
  for folder in "${pending[@]}"; do
    for key in $(printf '%s' "${folder_keys[$folder]}" | sort); do
      tag_object "$key" "$TAG_SUPERSEDED" || return 1
    done
    log "backup $folder is superseded: it expires with the lifecycle rule"
  done
}
if ! mark_superseded; then
  log "WARNING: could not tag every older backup $TAG_KEY=$TAG_SUPERSEDED; the next backup finishes it (until then they do not expire)"
fi
log "backup $stamp complete"
