/**
 * The store in a PGlite directory: acknowledged events and run records
 * survive closing and reopening it; the directory is locked while open (a
 * second opener gets one clear StoreError naming the owner's pid), the lock
 * goes away on close, and a lock left by a dead process (kill -9) is taken
 * over.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Store from "../../src/store/layer.js"
import { LOCK_FILE } from "../../src/store/lock.js"
import * as Sql from "../../src/store/sql.js"
import { StoreError } from "../../src/trace/errors.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import { eventRange, json } from "../support/store.js"

const tmpDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-store-"))

/** Runs `f` with the store in `dir` open, closing it afterwards. */
const withStore = <A, E>(dir: string, f: Effect.Effect<A, E, Store.StoreServices>) =>
  Effect.scoped(Effect.flatMap(Layer.build(Store.layerPglite(dir)), (ctx) => Effect.provide(f, ctx)))

/** The error of opening the store in `dir`. */
const openError = (dir: string) =>
  Effect.flatMap(
    Effect.exit(withStore(dir, Effect.void)),
    (exit) =>
      Exit.isFailure(exit) && exit.cause._tag === "Fail"
        ? Effect.succeed(exit.cause.error)
        : Effect.dieMessage(`expected a failure, got ${String(exit)}`)
  )

describe("PGlite directory", () => {
  it.live(
    "acknowledged events and runs survive closing and reopening; the lock lives as long as the store",
    () =>
      Effect.gen(function*() {
        const dir = tmpDir()
        const lock = Path.join(dir, LOCK_FILE)
        const events = eventRange("durable", 0, 49, true)
        yield* withStore(
          dir,
          Effect.gen(function*() {
            const sink = yield* EventSink
            for (let i = 0; i < 50; i += 10) yield* sink.append(events.slice(i, i + 10))
            yield* Effect.flatMap(RunStore, (s) =>
              s.create({
                runId: "durable",
                workspace: "default",
                programHash: "ph",
                programName: "main",
                status: "running",
                inputs: {},
                seed: 3,
                options: {},
                createdAt: 1,
                updatedAt: 1,
                endedAt: null,
                state: {}
              }))
            expect(Fs.readFileSync(lock, "utf8")).toBe(`${process.pid}\n`)
            // Open in this very process: refused too.
            const again = yield* openError(dir)
            expect(again).toEqual(
              new StoreError({
                operation: "open store",
                message: `the store in ${dir} is in use by process ${process.pid}`
              })
            )
          })
        )
        expect(Fs.existsSync(lock)).toBe(false)
        const [stored, run] = yield* withStore(
          dir,
          Effect.all([
            Effect.flatMap(EventLog, (l) => l.events("durable")),
            Effect.flatMap(RunStore, (s) => s.get("durable"))
          ])
        )
        expect(json(stored)).toEqual(json(events))
        expect(Option.map(run, (r) => [r.status, r.seed])).toEqual(Option.some(["running", 3]))
        Fs.rmSync(dir, { recursive: true, force: true })
      }),
    60_000
  )

  it.live("a lock held by another live process refuses the store, naming that process", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const child = ChildProcess.spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" })
      try {
        Fs.writeFileSync(Path.join(dir, LOCK_FILE), `${child.pid}\n`)
        const error = yield* openError(dir)
        expect(error).toEqual(
          new StoreError({ operation: "open store", message: `the store in ${dir} is in use by process ${child.pid}` })
        )
        expect(Fs.readFileSync(Path.join(dir, LOCK_FILE), "utf8")).toBe(`${child.pid}\n`)
      } finally {
        child.kill("SIGKILL")
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 60_000)

  it.live("a lock left by a killed process is taken over", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      // A process that is gone (as after kill -9): its pid is in the lock file.
      const dead = ChildProcess.spawnSync(process.execPath, ["-e", "process.kill(process.pid, 'SIGKILL')"])
      expect(dead.signal).toBe("SIGKILL")
      Fs.writeFileSync(Path.join(dir, LOCK_FILE), `${dead.pid}\n`)
      const owner = yield* withStore(dir, Effect.sync(() => Fs.readFileSync(Path.join(dir, LOCK_FILE), "utf8")))
      expect(owner).toBe(`${process.pid}\n`)
      expect(Fs.readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE))).toEqual([])
      Fs.rmSync(dir, { recursive: true, force: true })
    }), 60_000)

  it.live("events acknowledged before kill -9 are all there after reopening", () =>
    Effect.gen(function*() {
      const fixture = Path.join(import.meta.dirname, "fixtures", "append-child.ts")
      for (const acks of [3, 40]) {
        const dir = tmpDir()
        // Kill the writer after `acks` acknowledged appends (mid-append, most likely), then reopen.
        const acked = yield* Effect.async<number, Error>((resume) => {
          const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", fixture, dir], {
            stdio: ["ignore", "pipe", "pipe"]
          })
          let seen = 0
          let last = -1
          let stderr = ""
          child.stderr.on("data", (d: Buffer) => {
            stderr += d.toString()
          })
          child.stdout.on("data", (d: Buffer) => {
            for (const line of d.toString().split("\n")) {
              const m = /^acked (\d+)$/.exec(line)
              if (m === null) continue
              last = Number(m[1])
              if (++seen === acks) child.kill("SIGKILL")
            }
          })
          child.on("exit", (_code, signal) =>
            signal === "SIGKILL"
              ? resume(Effect.succeed(last))
              : resume(Effect.fail(new Error(`the writer exited by itself: ${stderr}`))))
        })
        const stored = yield* withStore(
          dir,
          Effect.flatMap(EventLog, (l) => l.events("crash"))
        )
        const seqs = stored.map((e) => e.seq)
        expect(seqs).toEqual(seqs.map((_, i) => i))
        expect(seqs.length).toBeGreaterThanOrEqual(acked + 1)
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 120_000)

  it.live(
    "PGlite in this thread (bundled builds, TRELLIS_PGLITE_THREAD=0) runs the same store",
    () =>
      Effect.gen(function*() {
        const inThread = Store.layerOn(Sql.layerPglite(Sql.MEMORY, { thread: false }))
        const error = yield* Effect.scoped(Effect.flatMap(Layer.build(inThread), (ctx) =>
          Effect.provide(
            Effect.gen(function*() {
              const sink = yield* EventSink
              yield* sink.append(eventRange("here", 0, 4, true))
              expect(json(yield* Effect.flatMap(EventLog, (l) => l.events("here")))).toEqual(
                json(eventRange("here", 0, 4, true))
              )
              return yield* Effect.flip(sink.append(eventRange("here", 4, 4)))
            }),
            ctx
          )))
        expect(error.message).toContain("(Key (run_id, seq)=(here, 4) already exists.)")
      }),
    60_000
  )
})
