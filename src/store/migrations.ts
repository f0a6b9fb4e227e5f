/**
 * The store's schema as forward-only, numbered migrations (`@effect/sql`
 * `Migrator`, table `trellis_migrations`), one schema for PGlite and
 * PostgreSQL: programs (by hash), runs (indexed status, workspace and time
 * columns; JSONB inputs, options, output, error and state), run events
 * (append-only history records of contiguous events, `history.ts`), idempotency records and bandit
 * state. A new migration is a new numbered entry; an applied one is never
 * edited. Retrieval keeps its own tables and migrations table.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"
import { StoreError } from "../trace/errors.js"
import { describe, toStoreError } from "./failure.js"

/** The table recording which migrations ran. */
export const MIGRATIONS_TABLE = "trellis_migrations"

/** The advisory lock key that serializes concurrent migrations of one database (any fixed 64-bit number). */
const MIGRATION_LOCK_KEY = 7_301_920_417

/** Runs statements one by one (each its own query: the extended protocol takes one statement at a time). */
const statements = (...texts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    for (const text of texts) yield* sql.unsafe(text)
  })

const core = statements(
  `CREATE TABLE programs (
    hash TEXT PRIMARY KEY,
    ir JSONB NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE runs (
    run_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT NOT NULL,
    program_hash TEXT NOT NULL,
    program_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    inputs JSONB NOT NULL,
    seed DOUBLE PRECISION,
    options JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    output JSONB,
    error JSONB,
    state JSONB NOT NULL
  )`,
  `CREATE INDEX runs_status_idx ON runs (status)`,
  `CREATE INDEX runs_workspace_created_idx ON runs (workspace, created_at DESC, run_id DESC)`,
  `CREATE INDEX runs_created_idx ON runs (created_at DESC, run_id DESC)`,
  `CREATE INDEX runs_program_hash_idx ON runs (program_hash)`,
  `CREATE TABLE run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at BIGINT NOT NULL,
    type TEXT NOT NULL,
    node TEXT,
    attempt INTEGER,
    body JSONB NOT NULL,
    PRIMARY KEY (run_id, seq)
  )`,
  // Append-only: an event, once stored, never changes.
  `CREATE FUNCTION run_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'run_events is append-only: event % of run % cannot be updated', OLD.seq, OLD.run_id;
  END
  $$`,
  `CREATE TRIGGER run_events_no_update BEFORE UPDATE ON run_events
    FOR EACH ROW EXECUTE FUNCTION run_events_append_only()`,
  `CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    value JSONB NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE bandit_state (
    key TEXT PRIMARY KEY,
    state JSONB NOT NULL,
    version INTEGER NOT NULL
  )`
)

/**
 * Tenant isolation (issue 14): idempotency records keyed by (workspace, tool, key) and bound to the hash of
 * their arguments, bandit state keyed by (scope, key) where the scope is a workspace (or `*` when shared).
 * Values are JSON text (`store/jsonText.ts` escapes what JSONB cannot hold). The old unscoped tables are
 * left in place, unread: their records cannot be attributed to a workspace.
 */
const scoped = statements(
  `CREATE TABLE idempotency_records (
    workspace TEXT NOT NULL,
    tool TEXT NOT NULL,
    key TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    value JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, tool, key)
  )`,
  `CREATE TABLE bandit_states (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    state JSONB NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  )`
)

/**
 * Durable waits (issue 18): signals sent to runs (deduplicated by `(run_id, signal_id)`, claimed by the wait
 * that took them) and the timer of each parked run (its earliest deadline), re-armed when a server starts.
 */
const waits = statements(
  `ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_status_check`,
  `ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('running', 'waiting', 'completed', 'failed', 'cancelled'))`,
  `CREATE TABLE run_signals (
    run_id TEXT COLLATE "C" NOT NULL,
    signal_id TEXT NOT NULL,
    name TEXT NOT NULL,
    payload JSONB NOT NULL,
    received_at BIGINT NOT NULL,
    arrival BIGSERIAL,
    claimed_by TEXT,
    PRIMARY KEY (run_id, signal_id)
  )`,
  `CREATE INDEX run_signals_by_name ON run_signals (run_id, name, arrival)`,
  `CREATE TABLE run_timers (
    run_id TEXT COLLATE "C" PRIMARY KEY,
    fire_at BIGINT NOT NULL
  )`
)

/**
 * Schedules (issue 18): a schedule's cron expression, program (normalized IR), inputs, policies and the next
 * time it is due, per workspace; each occurrence it handled (one row per `(schedule_id, fire_at)`, so an
 * occurrence is recorded once) with the run it started, indexed by run for the run view's `scheduleId`.
 */
const schedules = statements(
  `CREATE TABLE schedules (
    schedule_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    program JSONB NOT NULL,
    program_hash TEXT NOT NULL,
    program_name TEXT NOT NULL,
    inputs JSONB NOT NULL,
    seed DOUBLE PRECISION,
    overlap TEXT NOT NULL CHECK (overlap IN ('skip', 'queue', 'allow')),
    missed JSONB NOT NULL,
    paused BOOLEAN NOT NULL,
    next_fire_at BIGINT,
    pending JSONB NOT NULL,
    last_fire_at BIGINT,
    last_run_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE INDEX schedules_workspace_created_idx ON schedules (workspace, created_at DESC, schedule_id DESC)`,
  `CREATE INDEX schedules_next_fire_idx ON schedules (next_fire_at) WHERE NOT paused`,
  `CREATE TABLE schedule_fires (
    schedule_id TEXT COLLATE "C" NOT NULL,
    workspace TEXT NOT NULL,
    fire_at BIGINT NOT NULL,
    fired_at BIGINT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('started', 'skipped', 'refused')),
    run_id TEXT COLLATE "C",
    message TEXT,
    PRIMARY KEY (schedule_id, fire_at)
  )`,
  `CREATE INDEX schedule_fires_run_idx ON schedule_fires (run_id)`
)

/**
 * Off-policy evaluation (issue 19): every reward posted for a run's choices under a key, in the bandit scope,
 * so a key's `ChoiceMade` events can be joined with the rewards their runs earned.
 */
const banditRewards = statements(
  `CREATE TABLE bandit_rewards (
    arrival BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL,
    reward DOUBLE PRECISION NOT NULL,
    at BIGINT NOT NULL
  )`,
  `CREATE INDEX bandit_rewards_key_idx ON bandit_rewards (scope, key, at)`
)

/** Evaluations (issue 19): one row per eval, one per example's result (its run, output, scores). */
const evals = statements(
  `CREATE TABLE evals (
    eval_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT NOT NULL,
    program_hash TEXT NOT NULL,
    program_name TEXT NOT NULL,
    dataset TEXT NOT NULL,
    metrics JSONB NOT NULL,
    options JSONB NOT NULL,
    total INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
    report JSONB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE INDEX evals_workspace_created_idx ON evals (workspace, created_at DESC, eval_id DESC)`,
  `CREATE TABLE eval_results (
    eval_id TEXT COLLATE "C" NOT NULL,
    example_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL,
    example JSONB NOT NULL,
    status TEXT NOT NULL,
    output JSONB,
    error JSONB,
    latency_ms DOUBLE PRECISION,
    cost DOUBLE PRECISION,
    scores JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (eval_id, example_id)
  )`,
  `CREATE INDEX eval_results_run_idx ON eval_results (run_id)`
)

/**
 * History that lasts (issue 21): the result cache kept in the store — one row per cache key (sha256 of
 * workspace, tool, version and canonical args), with its workspace (for the per-workspace bound and `trellis gc`),
 * its value as JSON text, its size and its expiry on the run's clock.
 */
const history = statements(
  `CREATE TABLE result_cache (
    key TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT NOT NULL,
    tool TEXT NOT NULL,
    value JSONB NOT NULL,
    bytes INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  )`,
  `CREATE INDEX result_cache_workspace_idx ON result_cache (workspace, created_at DESC)`,
  `CREATE INDEX result_cache_expiry_idx ON result_cache (expires_at)`
)

/**
 * Retention (issue 21): one row per compacted run — when, the first seq kept, how many events and bytes were
 * dropped. A compacted run keeps its record (status, output or error, final state and summary) and its last events.
 */
const compaction = statements(
  `CREATE TABLE run_compactions (
    run_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT NOT NULL,
    compacted_at BIGINT NOT NULL,
    kept_from_seq INTEGER NOT NULL,
    dropped_events INTEGER NOT NULL,
    dropped_bytes BIGINT NOT NULL
  )`
)

/**
 * Run submissions' `Idempotency-Key`s (issue 17): one record per (workspace, key), bound to the hash of the
 * request body and the run it started, until `expires_at` (ms), so every replica on one database sees them.
 */
const httpIdempotency = statements(
  `CREATE TABLE http_idempotency (
    workspace TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, key)
  )`,
  `CREATE INDEX http_idempotency_expires_idx ON http_idempotency (expires_at)`
)

/**
 * Deployments (issue 20): named deployments (a JSON body owned by `optimize/rollout/`, a compare-and-set
 * version), every decision about them with its evidence, and the runs each one routed (version and role).
 */
const deployments = statements(
  `CREATE TABLE deployments (
    workspace TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    body JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, name)
  )`,
  `CREATE TABLE deployment_events (
    workspace TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body JSONB NOT NULL,
    PRIMARY KEY (workspace, name, seq)
  )`,
  `CREATE TABLE deployment_runs (
    workspace TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL,
    role TEXT NOT NULL,
    program_hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, name, run_id)
  )`,
  `CREATE INDEX deployment_runs_at_idx ON deployment_runs (workspace, name, at)`
)

/** Feature flags per workspace (issue 20): on/off or a percentage, as a JSON body owned by `optimize/rollout/`. */
const featureFlags = statements(
  `CREATE TABLE feature_flags (
    workspace TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    body JSONB NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, name)
  )`
)

/**
 * Claim-check payloads (issue 21): `blobs` indexes every stored payload (content hash, size, when it was first
 * stored and last referenced), whatever backend keeps its content; `blob_contents` is the content when the
 * backend is the database (the default); `blob_refs` says which event (`run_id`, `seq`) refers to which blob —
 * the reference counts `trellis gc` reads (a ref whose event is gone, after compaction, no longer counts).
 */
const blobs = statements(
  `CREATE TABLE blobs (
    hash TEXT COLLATE "C" PRIMARY KEY,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL
  )`,
  `CREATE TABLE blob_contents (
    hash TEXT COLLATE "C" PRIMARY KEY,
    content TEXT NOT NULL
  )`,
  `CREATE TABLE blob_refs (
    run_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq, hash)
  )`,
  `CREATE INDEX blob_refs_hash_idx ON blob_refs (hash)`
)

/**
 * Data migrations of stored runs (issue 21): one row per named migration — its state, where it got to (the
 * last run id done, in byte order), its counters, and the verification it ended with — so a killed one resumes.
 */
const dataMigrations = statements(
  `CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('running', 'verifying', 'done', 'failed')),
    cursor TEXT COLLATE "C",
    runs INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,
    bytes_before BIGINT NOT NULL DEFAULT 0,
    bytes_after BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    message TEXT
  )`,
  `CREATE TABLE data_migration_checks (
    name TEXT NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL,
    events INTEGER NOT NULL,
    fold_hash TEXT NOT NULL,
    PRIMARY KEY (name, run_id)
  )`
)

/** Content-addressed artifacts (issue 20): programs, reports, calibrators and datasets by the sha256 of their content. */
const artifacts = statements(
  `CREATE TABLE artifacts (
    hash TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('program', 'report', 'calibrator', 'dataset')),
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE INDEX artifacts_kind_idx ON artifacts (kind, created_at)`
)

/**
 * History records (issue 21, `history.ts`): a run's events kept as records of contiguous events (one row per
 * committed batch, cut at 1,000 events / 256 KiB), the body a JSON array PostgreSQL compresses. The table of one
 * row per event is renamed `run_event_rows` (read with the records until `pack-history` moves its rows), and
 * `run_events` becomes a view of both, one row per event, for ad-hoc SQL. Records are append-only and never
 * overlap each other or a legacy row (the trigger holds a per-run transaction lock while it looks).
 */
const historyRecords = statements(
  `ALTER TABLE run_events RENAME TO run_event_rows`,
  `CREATE TABLE run_history (
    run_id TEXT COLLATE "C" NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    at BIGINT NOT NULL,
    body JSON NOT NULL,
    PRIMARY KEY (run_id, first_seq),
    CHECK (first_seq >= 0 AND last_seq >= first_seq),
    CHECK (json_array_length(body) = last_seq - first_seq + 1)
  )`,
  `CREATE FUNCTION run_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'run_history is append-only: the record of events %..% of run % cannot be updated',
      OLD.first_seq, OLD.last_seq, OLD.run_id;
  END
  $$`,
  `CREATE TRIGGER run_history_no_update BEFORE UPDATE ON run_history
    FOR EACH ROW EXECUTE FUNCTION run_history_append_only()`,
  // No two records share a seq, nor a record and a legacy row: (run_id, seq) stays unique. Records of a run never
  // overlap, so only the one starting last at or before NEW.last_seq can overlap NEW. The lock (per run, until the
  // transaction ends) makes concurrent inserts of one run look one after the other, each seeing the other's rows.
  `CREATE FUNCTION run_history_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    clash INTEGER;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.run_id, 0));
    SELECT greatest(h.first_seq, NEW.first_seq) INTO clash FROM (
      SELECT first_seq, last_seq FROM run_history
      WHERE run_id = NEW.run_id AND first_seq <= NEW.last_seq ORDER BY first_seq DESC LIMIT 1
    ) h WHERE h.last_seq >= NEW.first_seq;
    IF clash IS NULL THEN
      SELECT min(seq) INTO clash FROM run_event_rows
      WHERE run_id = NEW.run_id AND seq BETWEEN NEW.first_seq AND NEW.last_seq;
    END IF;
    IF clash IS NOT NULL THEN
      RAISE EXCEPTION 'duplicate key value violates unique constraint "run_history_seq"'
        USING ERRCODE = 'unique_violation', DETAIL = format('Key (run_id, seq)=(%s, %s) already exists.', NEW.run_id, clash);
    END IF;
    RETURN NEW;
  END
  $$`,
  `CREATE TRIGGER run_history_unique_seq BEFORE INSERT ON run_history
    FOR EACH ROW EXECUTE FUNCTION run_history_no_overlap()`,
  `CREATE VIEW run_events AS
    SELECT h.run_id, (e.value->>'seq')::int AS seq, (e.value->>'at')::float8::bigint AS at, e.value->>'type' AS type,
      e.value->>'node' AS node, (e.value->>'attempt')::int AS attempt, e.value::jsonb AS body
    FROM run_history h CROSS JOIN LATERAL json_array_elements(h.body) AS e(value)
    UNION ALL
    SELECT run_id, seq, at, type, node, attempt, body FROM run_event_rows`
)

/** Every migration, by `<number>_<name>`: append new ones, never edit applied ones. */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient>> = {
  "0001_core": core,
  "0002_workspace_scoped_policy": scoped,
  "0004_waits": waits,
  "0005_schedules": schedules,
  "0006_bandit_rewards": banditRewards,
  "0007_evals": evals,
  "0008_history": history,
  "0009_compaction": compaction,
  "0010_http_idempotency": httpIdempotency,
  "0011_artifacts": artifacts,
  "0013_deployments": deployments,
  "0014_feature_flags": featureFlags,
  "0016_blobs": blobs,
  "0017_data_migrations": dataMigrations,
  "0018_history_records": historyRecords
}

/** The store schema's version: the number of the newest migration this build knows. */
export const STORE_SCHEMA_VERSION: number = Math.max(...Object.keys(migrations).map((id) => Number(id.split("_")[0])))

/** Why this build cannot use a store migrated by a newer one (or undefined when it can). */
export const newerStoreSchema = (applied: number, known: number = STORE_SCHEMA_VERSION): string | undefined =>
  applied > known
    ? `the store's schema is at migration ${applied}, newer than this build's ${known}: use the Trellis that migrated it (or a newer one)`
    : undefined

const migrator = Migrator.make({})

/**
 * Brings the schema up to date; the migrations it ran (`[id, name]`).
 * Runs inside one transaction holding an advisory lock, so processes starting
 * together on one PostgreSQL migrate one after the other (the second finds
 * nothing to do); a second call is a no-op.
 */
export const migrate: Effect.Effect<ReadonlyArray<readonly [number, string]>, StoreError, SqlClient> = Effect.gen(
  function*() {
    const sql = yield* SqlClient
    const run = Effect.gen(function*() {
      yield* sql.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
      // The Migrator creates its table after a failed probe, which would abort our
      // transaction: create it first (same shape), under the lock.
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        migration_id integer primary key,
        created_at timestamp with time zone not null default now(),
        name text not null
      )`)
      // A store migrated by a newer build is refused: this build would misread what it does not know.
      const applied = yield* sql.unsafe<{ readonly latest: number | string | null }>(
        `SELECT max(migration_id) AS latest FROM ${MIGRATIONS_TABLE}`
      )
      const newer = newerStoreSchema(Number(applied[0]?.latest ?? 0))
      if (newer !== undefined) return yield* new StoreError({ operation: "migrate", message: newer, permanent: true })
      return yield* migrator({ loader: Migrator.fromRecord(migrations), table: MIGRATIONS_TABLE })
    })
    return yield* sql.withTransaction(run)
  }
).pipe(
  // The Migrator turns a failed migration into a defect; it is a store failure like any other.
  Effect.catchSomeDefect((defect) =>
    defect instanceof Migrator.MigrationError
      ? Option.some(Effect.fail(
        new StoreError({
          operation: "migrate",
          message: defect.cause instanceof SqlError ? `${defect.message}: ${describe(defect.cause)}` : defect.message
        })
      ))
      : Option.none()
  ),
  Effect.mapError((e) =>
    e._tag === "MigrationError"
      ? new StoreError({ operation: "migrate", message: e.message })
      : e._tag === "StoreError"
      ? e
      : toStoreError("migrate")(e)
  )
)
