/**
 * PGlite on a worker thread. PGlite runs PostgreSQL in WASM synchronously:
 * in the main thread every statement blocks the event loop (tool timers,
 * the scheduler) for its whole duration. This module starts
 * `pgliteWorker.mjs` and gives back an object with the two members
 * PGlite's `node-postgres` adapter uses (`waitReady`, `execProtocolStream`),
 * so the same `PgClient` code drives a database whose work happens on
 * another core. Backend messages cross the thread boundary as plain objects;
 * error messages become `Error`s again (with `code`, `detail`…).
 */
// `node:fs` kept: PGlite worker-thread plumbing (a synchronous check that the worker script is here; the template
// file read next to PGlite, as the worker reads it).
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"

const WORKER_URL = new URL("./pgliteWorker.mjs", import.meta.url)

/**
 * Whether the worker script is next to this module (it is not when the
 * sources were bundled into one file; PGlite then runs in this thread).
 */
export const pgliteThreadAvailable = (): boolean => {
  try {
    return WORKER_URL.protocol === "file:" && Fs.existsSync(fileURLToPath(WORKER_URL))
  } catch {
    return false
  }
}

/**
 * The data directory a PGlite database in `dataDir` (undefined: in memory) starts from: the file `templateFile`
 * when the database does not exist yet (no `PG_VERSION`), else none (for PGlite on this thread; the worker does the
 * same).
 */
export const templateFor = (dataDir: string | undefined, templateFile: string | undefined): Blob | undefined =>
  templateFile === undefined || (dataDir !== undefined && Fs.existsSync(`${dataDir}/PG_VERSION`))
    ? undefined
    : new Blob([Fs.readFileSync(templateFile)])

/** What the main thread sees of a PGlite on a worker thread. */
export interface PGliteThread {
  /** Resolves once the database is open; rejects with why it could not open. */
  readonly waitReady: Promise<void>
  /** Executes wire-protocol messages; the backend messages (errors included, never thrown). */
  readonly execProtocolStream: (bytes: Uint8Array, options?: unknown) => Promise<ReadonlyArray<unknown>>
  /** Closes the database and stops the thread. */
  readonly close: () => Promise<void>
}

type Reply =
  | { readonly type: "ready"; readonly pristine?: Uint8Array }
  | { readonly type: "open-failed"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly results: ReadonlyArray<Record<string, unknown>> }
  | { readonly type: "failure"; readonly id: number; readonly message: string }
  | { readonly type: "closed" }

/** A backend message back in the shape `pg` expects: errors are `Error` instances. */
const revive = (msg: Record<string, unknown>): unknown =>
  msg.name === "error" ? Object.assign(new Error(String(msg.message)), msg) : msg

/** How an in-memory database on a thread starts (see `sql.ts`). */
export interface ThreadStart {
  /** A pristine data directory (`dumpDataDir`) to start from instead of creating one. */
  readonly template?: Uint8Array
  /** A file holding one, for a database that does not exist yet (`TRELLIS_PGLITE_TEMPLATE`). */
  readonly templateFile?: string | undefined
  /** Called with the database's pristine data directory once it is open. */
  readonly onPristine?: (dir: Uint8Array) => void
}
/** The worker threads of the PGlite databases open in this process (for `threadsUtilization`). */
const openThreads = new Set<Worker>()

/**
 * The event-loop utilization of every PGlite thread open in this process, summed (`idle`/`active` ms since each
 * started, as `performance.eventLoopUtilization`): a diagnostic of how busy the databases' threads are (the server
 * bench reads it; differences of two readings give a period's share).
 */
export const threadsUtilization = (): { readonly idle: number; readonly active: number } => {
  let idle = 0
  let active = 0
  for (const w of openThreads) {
    const u = w.performance.eventLoopUtilization()
    idle += u.idle
    active += u.active
  }
  return { idle, active }
}

/** Opens PGlite in `dataDir` (undefined: in memory) on a new worker thread. */
export const openPGliteThread = (dataDir: string | undefined, start: ThreadStart = {}): PGliteThread => {
  const worker = new Worker(WORKER_URL, {
    workerData: {
      dataDir,
      template: start.template,
      templateFile: start.templateFile,
      dump: start.onPristine !== undefined
    }
  })
  openThreads.add(worker)
  worker.once("exit", () => openThreads.delete(worker))
  const pending = new Map<
    number,
    { readonly resolve: (r: ReadonlyArray<unknown>) => void; readonly reject: (e: Error) => void }
  >()
  let nextId = 0
  let closed: (() => void) | undefined
  let ready!: { resolve: () => void; reject: (e: Error) => void }
  const waitReady = new Promise<void>((resolve, reject) => {
    ready = { resolve, reject }
  })
  // The thread keeps the process alive while it opens and while a request waits on it, not when idle.
  const settle = () => {
    if (pending.size === 0) worker.unref()
  }
  let dead = false
  const failAll = (e: Error) => {
    if (!dead) {
      dead = true
      void worker.terminate().catch(() => undefined)
    }
    ready.reject(e)
    for (const p of pending.values()) p.reject(e)
    pending.clear()
    closed?.()
  }
  worker.on("message", (reply: Reply) => {
    switch (reply.type) {
      case "ready":
        settle()
        if (reply.pristine !== undefined) start.onPristine?.(reply.pristine)
        return ready.resolve()
      case "open-failed":
        return failAll(new Error(reply.message))
      case "result": {
        const p = pending.get(reply.id)
        pending.delete(reply.id)
        settle()
        return p?.resolve(reply.results.map(revive))
      }
      case "failure": {
        const p = pending.get(reply.id)
        pending.delete(reply.id)
        settle()
        return p?.reject(new Error(reply.message))
      }
      case "closed":
        return closed?.()
    }
  })
  worker.on("error", (e) => failAll(e))
  worker.on("exit", () => failAll(new Error("the PGlite thread exited")))
  waitReady.catch(() => undefined)

  // Messages are held until a sync point and repeated statements prepared by `pgliteProtocol.ts` (in `sql.ts`).
  return {
    waitReady,
    execProtocolStream: (bytes) =>
      new Promise((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve, reject })
        worker.ref()
        worker.postMessage({ type: "exec", id, bytes })
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (dead) return resolve()
        closed = () => {
          closed = undefined
          dead = true
          void worker.terminate().then(() => resolve(), () => resolve())
        }
        worker.ref()
        worker.postMessage({ type: "close" })
      })
  }
}
