# shellcheck shell=bash disable=SC2034  # the names are used by the scripts that source this
# Shared by backup.sh and restore-check.sh (sourced, never run on its own).
# The contract both scripts follow is in docs/components/db-backup.md.

# The manifest format this version writes, and every format restore-check.sh reads.
MANIFEST_FORMAT=2
MANIFEST_FORMATS_READ=" 1 2 "
DUMP_NAME=postgresql.dump
CHECKSUM_NAME=postgresql.dump.sha256
MANIFEST_NAME=manifest.json
LATEST_NAME=latest
STAMP_PATTERN='^[0-9]{8}T[0-9]{6}Z$'
# The object tag the bucket's lifecycle rule reads: only `superseded` backups ever expire.
TAG_KEY=prodstack-backup
TAG_CURRENT=current
TAG_SUPERSEDED=superseded

# One line per step on stderr (the pod log): UTC time, script, message.
log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT" "$*" >&2
}

fail() {
  log "FAILED: $*"
  exit 1
}

require_env() {
  local name
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then
      fail "$name is not set (see docs/components/db-backup.md for the variables)"
    fi
  done
}

require_whole_number() {
  local name="$1"
  [[ "${!name}" =~ ^[0-9]+$ ]] || fail "$name must be a whole number, not '${!name}'"
}

# BACKUP_PREFIX: default database/, always ending in one slash, never starting with one.
normalize_prefix() {
  BACKUP_PREFIX="${BACKUP_PREFIX-database/}"
  if [ -n "$BACKUP_PREFIX" ] && [ "${BACKUP_PREFIX%/}" = "$BACKUP_PREFIX" ]; then
    BACKUP_PREFIX="$BACKUP_PREFIX/"
  fi
  if ! [[ "$BACKUP_PREFIX" =~ ^([A-Za-z0-9._-]+/)*$ ]]; then
    fail "BACKUP_PREFIX '$BACKUP_PREFIX' must be path segments of letters, digits, '.', '_' or '-' (e.g. database/)"
  fi
}

# A private working folder for small files (the password file, the row counts), removed on
# exit. The dump itself never lands on disk: it streams between pg_dump, S3 and pg_restore.
make_workdir() {
  local scratch="${SCRATCH_DIR:-${TMPDIR:-/tmp}}"
  [ -d "$scratch" ] && [ -w "$scratch" ] || fail "scratch folder $scratch is missing or not writable"
  WORKDIR="$(mktemp -d "$scratch/$SCRIPT.XXXXXX")" || fail "cannot create a work folder in $scratch"
  chmod 700 "$WORKDIR"
}

# The password never travels in the environment or on a command line. Either PGPASSFILE names
# a libpq password file, or PGPASSWORD_FILE names a file holding just the password; libpq ignores
# password files that others can read (and Kubernetes makes mounted secrets group-readable), so
# the password is copied into a private password file in the work folder.
setup_password() {
  if [ -n "${PGPASSWORD:-}" ]; then
    fail "PGPASSWORD is set; pass the password in a file (PGPASSWORD_FILE or PGPASSFILE) instead"
  fi
  if [ -n "${PGPASSWORD_FILE:-}" ]; then
    [ -r "$PGPASSWORD_FILE" ] || fail "PGPASSWORD_FILE $PGPASSWORD_FILE is not readable"
    local password=""
    IFS= read -r password <"$PGPASSWORD_FILE" || [ -n "$password" ] ||
      fail "PGPASSWORD_FILE $PGPASSWORD_FILE is empty"
    password="${password%$'\r'}"
    password="${password//\\/\\\\}"
    password="${password//:/\\:}"
    local user="${PGUSER//\\/\\\\}"
    user="${user//:/\\:}"
    (umask 077 && printf '*:*:*:%s:%s\n' "$user" "$password" >"$WORKDIR/pgpass")
    export PGPASSFILE="$WORKDIR/pgpass"
  elif [ -n "${PGPASSFILE:-}" ]; then
    [ -r "$PGPASSFILE" ] || fail "PGPASSFILE $PGPASSFILE is not readable"
  fi
}

# Connect without waiting forever when the server does not answer.
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-30}"

psql_batch() {
  psql --no-psqlrc --quiet --no-align --tuples-only --set ON_ERROR_STOP=1 "$@"
}

# "15.8" from "pg_dump (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)"; fails on anything else.
client_version() {
  local banner
  banner="$("$1" --version)" || fail "cannot run $1"
  [[ "$banner" =~ \(PostgreSQL\)\ ([0-9]+(\.[0-9]+)?) ]] || fail "cannot read the version of $1 from '$banner'"
  printf '%s\n' "${BASH_REMATCH[1]}"
}

# The major version of a client version ("15.8" -> 15) or a server_version_num (170002 -> 17).
major_of() {
  if [[ "$1" =~ ^[0-9]{5,}$ ]]; then
    printf '%s\n' "$(($1 / 10000))"
  else
    printf '%s\n' "${1%%.*}"
  fi
}

s3_url() {
  printf 's3://%s/%s%s' "$BACKUP_BUCKET" "$BACKUP_PREFIX" "$1"
}

# Quiet transfers: errors only, no progress meter in the log.
s3_cp() {
  aws s3 cp --only-show-errors "$@"
}

# One object's content on stdout, as a single GET: the CLI writes the body to the file it is
# given (here the pipe on fd 3) as it arrives, so memory stays flat and a slow reader (pg_restore)
# slows the download down instead of filling a buffer. `aws s3 cp ... -` would fetch ranges in
# parallel and keep up to ~256 MiB of them in memory ahead of a slow reader.
s3_stream_object() {
  aws s3api get-object --bucket "$BACKUP_BUCKET" --key "$1" /dev/fd/3 3>&1 >/dev/null
}

object_tag() {
  aws s3api get-object-tagging --bucket "$BACKUP_BUCKET" --key "$1" --output text \
    --query "TagSet[?Key=='$TAG_KEY'].Value | [0]"
}

tag_object() {
  aws s3api put-object-tagging --bucket "$BACKUP_BUCKET" --key "$1" \
    --tagging "TagSet=[{Key=$TAG_KEY,Value=$2}]"
}

# Byte count and sha256 of a stream, computed as it passes: `digest_start NAME` starts the two
# readers, a pipeline stage `tee --output-error=exit "${DIGEST_FIFOS[@]}"` feeds them, and
# `digest_finish` waits and sets DIGEST_BYTES and DIGEST_SHA256.
DIGEST_PIDS=()
digest_start() {
  local base="$WORKDIR/$1"
  mkfifo "$base.sha.fifo" "$base.count.fifo"
  sha256sum <"$base.sha.fifo" >"$base.sha256" &
  DIGEST_PIDS=("$!")
  wc -c <"$base.count.fifo" >"$base.bytes" &
  DIGEST_PIDS+=("$!")
  DIGEST_FIFOS=("$base.sha.fifo" "$base.count.fifo")
  DIGEST_BASE="$base"
}

digest_finish() {
  local pid
  for pid in "${DIGEST_PIDS[@]}"; do
    wait "$pid" || return 1
  done
  DIGEST_PIDS=()
  DIGEST_BYTES="$(tr -d ' \n' <"$DIGEST_BASE.bytes")"
  DIGEST_SHA256="$(cut -d ' ' -f 1 <"$DIGEST_BASE.sha256")"
  [[ "$DIGEST_BYTES" =~ ^[0-9]+$ && "$DIGEST_SHA256" =~ ^[0-9a-f]{64}$ ]]
}

digest_stop() {
  local pid
  for pid in "${DIGEST_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  DIGEST_PIDS=()
}

# The ordinary tables (partitions included, partitioned parents excluded, so no row counts
# twice) outside the system schemas and not owned by an extension, as pg_class c, pg_namespace n.
# shellcheck disable=SC2016  # the $$ quotes are SQL, not shell
USER_TABLES_WHERE='c.relkind = $$r$$
   AND n.nspname <> ALL (ARRAY[$$pg_catalog$$, $$information_schema$$])
   AND n.nspname !~ $$^pg_(toast|temp_|toast_temp_)$$
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = $$pg_class$$::regclass AND d.objid = c.oid
                      AND d.deptype = $$e$$)'

# An exact count(*) of one table, usable inside a query over pg_class.
# shellcheck disable=SC2016
EXACT_ROWS_SQL='(xpath($$/row/c/text()$$, query_to_xml(
            format($$SELECT count(*) AS c FROM %I.%I$$, n.nspname, c.relname),
            false, true, $$$$)))[1]::text::bigint'

# Every table with its row count as a JSON array: exact (count(*)) for tables whose main fork
# is at most prodstack.exact_count_max_bytes, else the catalog's estimate (pg_class.reltuples,
# kept by VACUUM and ANALYZE; null when the table was never analyzed). Run inside the snapshot.
# shellcheck disable=SC2016
TABLE_COUNTS_SQL="
SELECT coalesce(jsonb_agg(jsonb_build_object(
         \$\$schema\$\$, n.nspname, \$\$table\$\$, c.relname, \$\$bytes\$\$, size.bytes,
         \$\$count\$\$, CASE WHEN size.exact THEN \$\$exact\$\$ ELSE \$\$estimate\$\$ END,
         \$\$rows\$\$, CASE WHEN size.exact THEN $EXACT_ROWS_SQL
                          WHEN c.reltuples >= 0 THEN c.reltuples::bigint END)
       ORDER BY n.nspname, c.relname), \$\$[]\$\$::jsonb)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (SELECT pg_relation_size(c.oid) AS bytes,
                            pg_relation_size(c.oid) <=
                              current_setting(\$\$prodstack.exact_count_max_bytes\$\$)::bigint
                              AS exact) AS size
 WHERE $USER_TABLES_WHERE"

# Every table of the restored scratch database with its exact row count.
# shellcheck disable=SC2016
RESTORED_COUNTS_SQL="
SELECT coalesce(jsonb_agg(jsonb_build_object(
         \$\$schema\$\$, n.nspname, \$\$table\$\$, c.relname, \$\$rows\$\$, $EXACT_ROWS_SQL)
       ORDER BY n.nspname, c.relname), \$\$[]\$\$::jsonb)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE $USER_TABLES_WHERE"

# The extensions of the database (what a restore must be able to create), as a JSON array.
# shellcheck disable=SC2016
EXTENSIONS_SQL='
SELECT coalesce(jsonb_agg(jsonb_build_object(
         $$name$$, e.extname, $$version$$, e.extversion, $$schema$$, n.nspname)
       ORDER BY e.extname), $$[]$$::jsonb)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace'
