# shellcheck shell=bash disable=SC2034  # the names are used by the scripts that source this
# Shared by backup.sh and restore-check.sh (sourced, never run on its own).
# The contract both scripts follow is in docs/components/db-backup.md.

# The manifest format this version writes and reads.
MANIFEST_FORMAT=1
DUMP_NAME=postgresql.dump
CHECKSUM_NAME=postgresql.dump.sha256
MANIFEST_NAME=manifest.json
LATEST_NAME=latest
STAMP_PATTERN='^[0-9]{8}T[0-9]{6}Z$'

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

# A private working folder inside the scratch volume, removed on exit.
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

s3_url() {
  printf 's3://%s/%s%s' "$BACKUP_BUCKET" "$BACKUP_PREFIX" "$1"
}

# Quiet transfers: errors only, no progress meter in the log.
s3_cp() {
  aws s3 cp --only-show-errors "$@"
}

# Every ordinary table (partitions included, partitioned parents excluded, so no row counts
# twice) outside the system schemas and not owned by an extension, with its exact row count,
# as a JSON array sorted by schema and table. Run inside the snapshot the dump uses.
# shellcheck disable=SC2016  # the format() placeholders are SQL, not shell
TABLE_COUNTS_SQL='
SELECT coalesce(jsonb_agg(jsonb_build_object(
         $$schema$$, n.nspname, $$table$$, c.relname,
         $$rows$$, (xpath($$/row/c/text()$$, query_to_xml(
            format($$SELECT count(*) AS c FROM %I.%I$$, n.nspname, c.relname),
            false, true, $$$$)))[1]::text::bigint)
       ORDER BY n.nspname, c.relname), $$[]$$::jsonb)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = $$r$$
   AND n.nspname <> ALL (ARRAY[$$pg_catalog$$, $$information_schema$$])
   AND n.nspname !~ $$^pg_(toast|temp_|toast_temp_)$$
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = $$pg_class$$::regclass AND d.objid = c.oid
                      AND d.deptype = $$e$$)'
