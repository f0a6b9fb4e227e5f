/**
 * `DeploymentStore` (issue 20, rollout): named deployments, the history of
 * every decision about them, the runs each one routed (with the version and
 * role — current or candidate — that served them) and per-workspace feature
 * flags. The store keeps a deployment's and a flag's body as JSON it does not
 * interpret (`optimize/rollout/` owns their Schemas); a deployment carries a
 * version so two writers never both apply a decision (compare-and-set). The
 * SQL layer uses the tables of migrations `0013_deployments` and
 * `0014_feature_flags`; `layerMemory` has the same semantics for tests.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import type { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

/** One deployment: its body (JSON owned by the rollout module) and the version of that body. */
export interface DeploymentRow {
  readonly workspace: string
  readonly name: string
  /** Grows by one with every saved change. */
  readonly version: number
  readonly body: Json
  readonly createdAt: number
  readonly updatedAt: number
}

/** One decision about a deployment, with its evidence. `seq` counts from 1 per deployment. */
export interface DeploymentEventRow {
  readonly workspace: string
  readonly name: string
  readonly seq: number
  readonly at: number
  readonly kind: string
  readonly body: Json
}

/** A run a deployment routed: the version (program hash) and the role that served it. */
export interface DeploymentRunRow {
  readonly workspace: string
  readonly name: string
  readonly runId: string
  readonly role: "current" | "candidate"
  readonly programHash: string
  readonly at: number
}

/** A feature flag of a workspace (its body is JSON owned by the rollout module). */
export interface FlagRow {
  readonly workspace: string
  readonly name: string
  readonly body: Json
  readonly updatedAt: number
}

/** The service. */
export class DeploymentStore extends Context.Tag("trellis/DeploymentStore")<DeploymentStore, {
  readonly get: (workspace: string, name: string) => Effect.Effect<Option.Option<DeploymentRow>, StoreError>
  /** A workspace's deployments, by name. */
  readonly list: (workspace: string) => Effect.Effect<ReadonlyArray<DeploymentRow>, StoreError>
  /**
   * Writes `row` (its `version` must be `expected + 1`, or 1 for a new deployment when `expected` is 0) and
   * appends `event` (its `seq` is assigned) in one transaction. False, and nothing written, when the stored
   * version is not `expected` (another writer won).
   */
  readonly save: (
    row: DeploymentRow,
    expected: number,
    event: Omit<DeploymentEventRow, "seq">
  ) => Effect.Effect<boolean, StoreError>
  /** Appends an event that changes nothing (a check, a refused promotion); its seq. */
  readonly appendEvent: (event: Omit<DeploymentEventRow, "seq">) => Effect.Effect<number, StoreError>
  /** A deployment's events, newest first, at most `limit`, before `beforeSeq` when given. */
  readonly history: (
    workspace: string,
    name: string,
    limit: number,
    beforeSeq?: number
  ) => Effect.Effect<ReadonlyArray<DeploymentEventRow>, StoreError>
  readonly recordRun: (run: DeploymentRunRow) => Effect.Effect<void, StoreError>
  /** The runs a deployment routed at or after `since` (ms), oldest first. */
  readonly runs: (
    workspace: string,
    name: string,
    since: number
  ) => Effect.Effect<ReadonlyArray<DeploymentRunRow>, StoreError>
  readonly putFlag: (flag: FlagRow) => Effect.Effect<void, StoreError>
  readonly getFlag: (workspace: string, name: string) => Effect.Effect<Option.Option<FlagRow>, StoreError>
  readonly listFlags: (workspace: string) => Effect.Effect<ReadonlyArray<FlagRow>, StoreError>
  readonly deleteFlag: (workspace: string, name: string) => Effect.Effect<boolean, StoreError>
}>() {
  /** Deployments in memory; a fresh store per layer build. */
  static readonly layerMemory: Layer.Layer<DeploymentStore> = Layer.sync(DeploymentStore, () => makeMemory())
}

const keyOf = (workspace: string, name: string) => JSON.stringify([workspace, name])

const makeMemory = (): DeploymentStore["Type"] => {
  const deployments = new Map<string, DeploymentRow>()
  const events = new Map<string, Array<DeploymentEventRow>>()
  const runs = new Map<string, Array<DeploymentRunRow>>()
  const flags = new Map<string, FlagRow>()
  const append = (e: Omit<DeploymentEventRow, "seq">): number => {
    const k = keyOf(e.workspace, e.name)
    const list = events.get(k) ?? []
    const seq = list.length + 1
    list.push({ ...e, seq })
    events.set(k, list)
    return seq
  }
  return DeploymentStore.of({
    get: (workspace, name) => Effect.sync(() => Option.fromNullable(deployments.get(keyOf(workspace, name)))),
    list: (workspace) =>
      Effect.sync(() =>
        [...deployments.values()].filter((d) => d.workspace === workspace).sort((a, b) => a.name < b.name ? -1 : 1)
      ),
    save: (row, expected, event) =>
      Effect.sync(() => {
        const k = keyOf(row.workspace, row.name)
        if ((deployments.get(k)?.version ?? 0) !== expected) return false
        deployments.set(k, row)
        append(event)
        return true
      }),
    appendEvent: (event) => Effect.sync(() => append(event)),
    history: (workspace, name, limit, beforeSeq) =>
      Effect.sync(() =>
        (events.get(keyOf(workspace, name)) ?? [])
          .filter((e) => beforeSeq === undefined || e.seq < beforeSeq)
          .reverse()
          .slice(0, limit)
      ),
    recordRun: (run) =>
      Effect.sync(() => {
        const k = keyOf(run.workspace, run.name)
        const list = runs.get(k) ?? []
        if (!list.some((r) => r.runId === run.runId)) list.push(run)
        runs.set(k, list)
      }),
    runs: (workspace, name, since) =>
      Effect.sync(() => (runs.get(keyOf(workspace, name)) ?? []).filter((r) => r.at >= since)),
    putFlag: (flag) => Effect.sync(() => void flags.set(keyOf(flag.workspace, flag.name), flag)),
    getFlag: (workspace, name) => Effect.sync(() => Option.fromNullable(flags.get(keyOf(workspace, name)))),
    listFlags: (workspace) =>
      Effect.sync(() =>
        [...flags.values()].filter((f) => f.workspace === workspace).sort((a, b) => a.name < b.name ? -1 : 1)
      ),
    deleteFlag: (workspace, name) => Effect.sync(() => flags.delete(keyOf(workspace, name)))
  })
}

interface DeploymentSqlRow {
  readonly workspace: string
  readonly name: string
  readonly version: number | string
  readonly body: string
  readonly created_at: number | string
  readonly updated_at: number | string
}

interface EventSqlRow {
  readonly workspace: string
  readonly name: string
  readonly seq: number | string
  readonly at: number | string
  readonly kind: string
  readonly body: string
}

interface RunSqlRow {
  readonly workspace: string
  readonly name: string
  readonly run_id: string
  readonly role: "current" | "candidate"
  readonly program_hash: string
  readonly at: number | string
}

interface FlagSqlRow {
  readonly workspace: string
  readonly name: string
  readonly body: string
  readonly updated_at: number | string
}

const toDeployment = (r: DeploymentSqlRow): DeploymentRow => ({
  workspace: r.workspace,
  name: r.name,
  version: Number(r.version),
  body: JsonText.decode(r.body) as Json,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at)
})

const toEvent = (r: EventSqlRow): DeploymentEventRow => ({
  workspace: r.workspace,
  name: r.name,
  seq: Number(r.seq),
  at: Number(r.at),
  kind: r.kind,
  body: JsonText.decode(r.body) as Json
})

const toFlag = (r: FlagSqlRow): FlagRow => ({
  workspace: r.workspace,
  name: r.name,
  body: JsonText.decode(r.body) as Json,
  updatedAt: Number(r.updated_at)
})

const DEPLOYMENT_COLUMNS = "workspace, name, version, body::text AS body, created_at, updated_at"

/** The SQL `DeploymentStore` on the `SqlClient` in context. */
export const make: Effect.Effect<DeploymentStore["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  const insertEvent = (e: Omit<DeploymentEventRow, "seq">) =>
    sql.unsafe<{ readonly seq: number | string }>(
      `INSERT INTO deployment_events (workspace, name, seq, at, kind, body)
       SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5::jsonb
       FROM deployment_events WHERE workspace = $1 AND name = $2
       RETURNING seq`,
      [e.workspace, e.name, e.at, e.kind, JsonText.encode(e.body)]
    ).pipe(Effect.map((rows) => Number(rows[0]?.seq ?? 0)))
  return DeploymentStore.of({
    get: (workspace, name) =>
      storeOp(
        "get deployment",
        sql.unsafe<DeploymentSqlRow>(
          `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE workspace = $1 AND name = $2`,
          [workspace, name]
        )
      ).pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toDeployment))),
    list: (workspace) =>
      storeOp(
        "list deployments",
        sql.unsafe<DeploymentSqlRow>(
          `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE workspace = $1 ORDER BY name COLLATE "C"`,
          [workspace]
        )
      ).pipe(Effect.map((rows) => rows.map(toDeployment))),
    save: (row, expected, event) =>
      storeOp(
        "save deployment",
        sql.withTransaction(Effect.gen(function*() {
          const written = expected === 0
            ? yield* sql.unsafe(
              `INSERT INTO deployments (workspace, name, version, body, created_at, updated_at)
               VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT (workspace, name) DO NOTHING RETURNING name`,
              [row.workspace, row.name, row.version, JsonText.encode(row.body), row.createdAt, row.updatedAt]
            )
            : yield* sql.unsafe(
              `UPDATE deployments SET version = $3, body = $4::jsonb, updated_at = $5
               WHERE workspace = $1 AND name = $2 AND version = $6 RETURNING name`,
              [row.workspace, row.name, row.version, JsonText.encode(row.body), row.updatedAt, expected]
            )
          if (written.length === 0) return false
          yield* insertEvent(event)
          return true
        }))
      ),
    appendEvent: (event) => storeOp("append deployment event", sql.withTransaction(insertEvent(event))),
    history: (workspace, name, limit, beforeSeq) =>
      storeOp(
        "read deployment history",
        sql.unsafe<EventSqlRow>(
          `SELECT workspace, name, seq, at, kind, body::text AS body FROM deployment_events
           WHERE workspace = $1 AND name = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
          [workspace, name, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit]
        )
      ).pipe(Effect.map((rows) => rows.map(toEvent))),
    recordRun: (run) =>
      storeOp(
        "record deployment run",
        sql.unsafe(
          `INSERT INTO deployment_runs (workspace, name, run_id, role, program_hash, at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace, name, run_id) DO NOTHING`,
          [run.workspace, run.name, run.runId, run.role, run.programHash, run.at]
        )
      ).pipe(Effect.asVoid),
    runs: (workspace, name, since) =>
      storeOp(
        "read deployment runs",
        sql.unsafe<RunSqlRow>(
          `SELECT workspace, name, run_id, role, program_hash, at FROM deployment_runs
           WHERE workspace = $1 AND name = $2 AND at >= $3 ORDER BY at, run_id COLLATE "C"`,
          [workspace, name, since]
        )
      ).pipe(
        Effect.map((rows) =>
          rows.map((r) => ({
            workspace: r.workspace,
            name: r.name,
            runId: r.run_id,
            role: r.role,
            programHash: r.program_hash,
            at: Number(r.at)
          }))
        )
      ),
    putFlag: (flag) =>
      storeOp(
        "put flag",
        sql.unsafe(
          `INSERT INTO feature_flags (workspace, name, body, updated_at) VALUES ($1, $2, $3::jsonb, $4)
           ON CONFLICT (workspace, name) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at`,
          [flag.workspace, flag.name, JsonText.encode(flag.body), flag.updatedAt]
        )
      ).pipe(Effect.asVoid),
    getFlag: (workspace, name) =>
      storeOp(
        "get flag",
        sql.unsafe<FlagSqlRow>(
          `SELECT workspace, name, body::text AS body, updated_at FROM feature_flags WHERE workspace = $1 AND name = $2`,
          [workspace, name]
        )
      ).pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toFlag))),
    listFlags: (workspace) =>
      storeOp(
        "list flags",
        sql.unsafe<FlagSqlRow>(
          `SELECT workspace, name, body::text AS body, updated_at FROM feature_flags WHERE workspace = $1
           ORDER BY name COLLATE "C"`,
          [workspace]
        )
      ).pipe(Effect.map((rows) => rows.map(toFlag))),
    deleteFlag: (workspace, name) =>
      storeOp(
        "delete flag",
        sql.unsafe(`DELETE FROM feature_flags WHERE workspace = $1 AND name = $2 RETURNING name`, [workspace, name])
      ).pipe(Effect.map((rows) => rows.length > 0))
  })
})

/** The SQL layer (needs the store's `SqlClient`; the schema comes from `migrations.ts`). */
export const layer: Layer.Layer<DeploymentStore, never, SqlClient> = Layer.effect(DeploymentStore, make)

/** The deployment store next to the run store: SQL on its client when there is one, else in memory. */
export const layerAuto: Layer.Layer<DeploymentStore> = Layer.unwrapEffect(
  Effect.map(
    Effect.serviceOption(SqlClient),
    (sql) =>
      Option.isSome(sql) ? Layer.provide(layer, Layer.succeed(SqlClient, sql.value)) : DeploymentStore.layerMemory
  )
)
