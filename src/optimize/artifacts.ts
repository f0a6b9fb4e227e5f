/**
 * Artifacts (issue 20): programs, reports, calibrators and datasets stored content-addressed — the key is the
 * sha256 of the canonical content, so storing the same content twice is one row. The tag, the in-memory layer
 * and the SQL layer (table `artifacts`, migration `0011_artifacts`).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option } from "effect"
import { sha256Hex } from "../ir/hash.js"
import { storeOp } from "../store/failure.js"
import type { StoreError } from "../trace/errors.js"

export const ARTIFACT_KINDS = ["program", "report", "calibrator", "dataset"] as const
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number]

/** One stored artifact (without its content). */
export interface Artifact {
  /** `sha256:` + hex of the content. */
  readonly hash: string
  readonly kind: ArtifactKind
  readonly name: string
  readonly size: number
  readonly createdAt: number
}

/** The hash of a content (the content is canonical already: a program's canonical text, a report's canonical JSON). */
export const artifactHash = (content: string): string => `sha256:${sha256Hex(content)}`

export class ArtifactStore extends Context.Tag("trellis/ArtifactStore")<ArtifactStore, {
  /** Stores a content unless stored; the artifact as stored (the first name it was stored under). */
  readonly put: (kind: ArtifactKind, name: string, content: string) => Effect.Effect<Artifact, StoreError>
  /** Artifacts, newest first, of one kind or all. */
  readonly list: (kind?: ArtifactKind) => Effect.Effect<ReadonlyArray<Artifact>, StoreError>
  /** One artifact and its content, by full hash or by a unique prefix of it. */
  readonly get: (
    hash: string
  ) => Effect.Effect<Option.Option<Artifact & { readonly content: string }>, StoreError>
}>() {
  static readonly layerMemory: Layer.Layer<ArtifactStore> = Layer.sync(ArtifactStore, () => {
    const rows = new Map<string, Artifact & { readonly content: string }>()
    const strip = ({ content: _c, ...a }: Artifact & { readonly content: string }): Artifact => a
    return {
      put: (kind, name, content) =>
        Effect.sync(() => {
          const hash = artifactHash(content)
          const found = rows.get(hash)
          if (found !== undefined) return strip(found)
          const row = { hash, kind, name, size: Buffer.byteLength(content), createdAt: Date.now(), content }
          rows.set(hash, row)
          return strip(row)
        }),
      list: (kind) =>
        Effect.sync(() => [...rows.values()].filter((r) => kind === undefined || r.kind === kind).map(strip).reverse()),
      get: (hash) =>
        Effect.sync(() => {
          const hits = [...rows.values()].filter((r) => r.hash === hash || r.hash.startsWith(hash))
          return hits.length === 1 ? Option.some(hits[0]!) : Option.none()
        })
    }
  })
}

interface Row {
  readonly hash: string
  readonly kind: ArtifactKind
  readonly name: string
  readonly size: number | string
  readonly created_at: number | string
}

const toArtifact = (r: Row): Artifact => ({
  hash: r.hash,
  kind: r.kind,
  name: r.name,
  size: Number(r.size),
  createdAt: Number(r.created_at)
})

/** The SQL layer (PostgreSQL; the store's migrations create the table). */
export const layer: Layer.Layer<ArtifactStore, never, SqlClient> = Layer.effect(
  ArtifactStore,
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const getOne = (hash: string) =>
      storeOp(
        "read artifact",
        sql.unsafe<Row & { readonly content: string }>(
          `SELECT hash, kind, name, size, created_at, content FROM artifacts
           WHERE hash = $1 OR hash LIKE $2 ORDER BY hash LIMIT 2`,
          [hash, `${hash.replace(/[%_\\]/g, "")}%`]
        )
      ).pipe(
        Effect.map((rows) => {
          const exact = rows.find((r) => r.hash === hash)
          const one = exact ?? (rows.length === 1 ? rows[0] : undefined)
          return one === undefined ? Option.none() : Option.some({ ...toArtifact(one), content: one.content })
        })
      )
    return {
      put: (kind, name, content) =>
        Effect.gen(function*() {
          const hash = artifactHash(content)
          yield* storeOp(
            "store artifact",
            sql.unsafe(
              `INSERT INTO artifacts (hash, kind, name, size, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (hash) DO NOTHING`,
              [hash, kind, name, Buffer.byteLength(content), content, Date.now()]
            )
          )
          const stored = yield* getOne(hash)
          return Option.getOrElse(Option.map(stored, ({ content: _c, ...a }) => a), () => ({
            hash,
            kind,
            name,
            size: Buffer.byteLength(content),
            createdAt: Date.now()
          }))
        }),
      list: (kind) =>
        storeOp(
          "list artifacts",
          kind === undefined
            ? sql.unsafe<Row>(`SELECT hash, kind, name, size, created_at FROM artifacts ORDER BY created_at DESC, hash`)
            : sql.unsafe<Row>(
              `SELECT hash, kind, name, size, created_at FROM artifacts WHERE kind = $1 ORDER BY created_at DESC, hash`,
              [kind]
            )
        ).pipe(Effect.map((rows) => rows.map(toArtifact))),
      get: getOne
    }
  })
)
