/**
 * PGlite's wire-protocol pipeline (`pgliteProtocol.ts`) under a real `pg`
 * pool: a statement text repeated is prepared once and later executions
 * bind it (same answers as unnamed ones), failures and rollbacks leave it
 * usable, a statement whose result type changed is prepared again, and
 * turning preparation off prepares nothing.
 */
import { PGlite } from "@electric-sql/pglite"
import { createPgConfig } from "@electric-sql/pglite/node-postgres"
import Pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { pipeline, PREPARE_AFTER } from "../../src/store/pgliteProtocol.js"
import type { ProtocolTarget } from "../../src/store/pgliteProtocol.js"

const opened: Array<{ readonly pool: Pg.Pool; readonly db: PGlite }> = []

const open = async (prepare = true) => {
  const db = await PGlite.create()
  const target = pipeline(db as unknown as ProtocolTarget, { prepare })
  const pool = new Pg.Pool(createPgConfig(target as unknown as PGlite) as unknown as Pg.PoolConfig)
  opened.push({ pool, db })
  await pool.query("CREATE TABLE t (id int PRIMARY KEY, v text)")
  return { pool, stats: target.stats }
}

afterEach(async () => {
  for (const { db, pool } of opened.splice(0)) {
    await pool.end()
    await db.close()
  }
})

describe("PGlite protocol pipeline", () => {
  it("prepares a repeated statement once; later executions bind it and answer as unnamed ones do", async () => {
    const { pool, stats } = await open()
    for (let i = 0; i < 20; i++) {
      const r = await pool.query("INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id, v", [i, `v${i}`])
      expect(r.rows).toEqual([{ id: i, v: `v${i}` }])
    }
    expect(stats.prepared).toBe(1)
    expect(stats.reused).toBe(20 - PREPARE_AFTER)
    for (let i = 0; i < 5; i++) {
      const r = await pool.query("SELECT v FROM t WHERE id = $1", [i])
      expect(r.rows).toEqual([{ v: `v${i}` }])
    }
    expect(stats.prepared).toBe(2)
    // Statements without parameters go as simple queries: untouched.
    expect((await pool.query("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 20 }])
    expect(stats.prepared).toBe(2)
  })

  it("a failing execution fails as before and leaves the statement usable; so does a rollback", async () => {
    const { pool, stats } = await open()
    const insert = (id: number) => pool.query("INSERT INTO t (id, v) VALUES ($1, $2)", [id, "x"])
    await insert(1)
    await insert(2)
    expect(stats.prepared).toBe(1)
    await expect(insert(1)).rejects.toThrow(/duplicate key value violates unique constraint/)
    await insert(3)
    const client = await pool.connect()
    try {
      await client.query("BEGIN")
      await client.query("INSERT INTO t (id, v) VALUES ($1, $2)", [4, "x"])
      await client.query("ROLLBACK")
    } finally {
      client.release()
    }
    await insert(5)
    expect((await pool.query("SELECT array_agg(id ORDER BY id) AS ids FROM t")).rows).toEqual([{ ids: [1, 2, 3, 5] }])
    expect(stats.prepared).toBe(1)
    expect(stats.reused).toBe(4)
  })

  it("a statement whose result type changed is prepared again", async () => {
    const { pool, stats } = await open()
    await pool.query("INSERT INTO t (id, v) VALUES (1, 'a')")
    const read = () => pool.query("SELECT * FROM t WHERE id = $1", [1])
    await read()
    await read()
    expect(stats.prepared).toBe(1)
    await pool.query("ALTER TABLE t ADD COLUMN w int DEFAULT 7")
    // PostgreSQL refuses a prepared statement whose columns changed ("cached plan must not change result type")…
    await expect(read()).rejects.toThrow(/cached plan must not change result type/)
    // …and the pipeline forgets it: the next executions prepare it again, with the new columns.
    await read()
    expect((await read()).rows).toEqual([{ id: 1, v: "a", w: 7 }])
    expect(stats.prepared).toBe(2)
  })

  it("with preparation off nothing is prepared", async () => {
    const { pool, stats } = await open(false)
    for (let i = 0; i < 5; i++) await pool.query("INSERT INTO t (id, v) VALUES ($1, $2)", [i, "x"])
    expect((await pool.query("SELECT count(*)::int AS n FROM t WHERE id >= $1", [0])).rows).toEqual([{ n: 5 }])
    expect(stats).toEqual({ prepared: 0, reused: 0 })
  })
})
