/**
 * The exclusive lock of an embedded (PGlite) data directory: two processes
 * must never open one directory at once. Opening takes `trellis.lock` in the
 * directory (the owner's pid inside); closing removes it. A lock whose pid
 * is no longer alive (the owner was killed, e.g. `kill -9`) is taken over.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
// Synchronous `node:fs` on purpose: the lock is taken with `openSync(file, "wx")` (atomic create) and dropped on exit.
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "trellis.lock"

/** Why a directory could not be locked: in use by a live process, or an I/O failure. */
export class DirLockError {
  readonly _tag = "DirLockError"
  constructor(readonly message: string, readonly pid: number | undefined) {}
}

/** Whether a process with this pid is alive (a process we may not signal counts as alive). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readPid = (file: string): number | undefined => {
  try {
    const n = Number(Fs.readFileSync(file, "utf8").trim())
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

const inUse = (dir: string, pid: number) => new DirLockError(`the store in ${dir} is in use by process ${pid}`, pid)

/** Takes the lock once: `undefined` when taken, else why not (`retry` when a stale lock was just removed). */
const tryLock = (dir: string, file: string): DirLockError | "retry" | undefined => {
  try {
    const fd = Fs.openSync(file, "wx")
    try {
      Fs.writeSync(fd, `${process.pid}\n`)
      Fs.fsyncSync(fd)
    } finally {
      Fs.closeSync(fd)
    }
    return undefined
  } catch (e) {
    if (errnoOf(e) !== "EEXIST") {
      return new DirLockError(`cannot lock the store in ${dir}: ${(e as Error).message}`, undefined)
    }
  }
  const owner = readPid(file)
  if (owner !== undefined && isAlive(owner)) return inUse(dir, owner)
  // Stale (dead owner, or a lock file left half-written): move it aside atomically, so
  // of two processes taking it over at once only one removes it.
  const aside = `${file}.stale-${process.pid}`
  try {
    Fs.renameSync(file, aside)
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return "retry"
    return new DirLockError(`cannot lock the store in ${dir}: ${(e as Error).message}`, undefined)
  }
  const moved = readPid(aside)
  if (moved !== owner && moved !== undefined && isAlive(moved)) {
    // Another process took the stale lock over between our read and our rename: give it back.
    try {
      Fs.linkSync(aside, file)
    } catch {
      // It already has a new owner.
    }
    Fs.rmSync(aside, { force: true })
    return inUse(dir, moved)
  }
  Fs.rmSync(aside, { force: true })
  return "retry"
}

/**
 * Locks `dir` (created when missing) for this process until the scope
 * closes. Fails with `DirLockError` ("the store in <dir> is in use by
 * process <pid>") when a live process holds it — this one included.
 */
export const lockDir = (dir: string): Effect.Effect<void, DirLockError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const file = Path.join(dir, LOCK_FILE)
      try {
        Fs.mkdirSync(dir, { recursive: true })
      } catch (e) {
        return Effect.fail(
          new DirLockError(`cannot create the store directory ${dir}: ${(e as Error).message}`, undefined)
        )
      }
      for (let i = 0; i < 5; i++) {
        const r = tryLock(dir, file)
        if (r === undefined) return Effect.succeed(file)
        if (r !== "retry") return Effect.fail(r)
      }
      return Effect.fail(new DirLockError(`cannot lock the store in ${dir}: the lock file keeps changing`, undefined))
    }),
    (file) =>
      Effect.sync(() => {
        if (readPid(file) === process.pid) Fs.rmSync(file, { force: true })
      })
  ).pipe(Effect.asVoid)

/** The pid of the live process holding the lock of `dir`, or `undefined` (no lock, or a stale one). */
export const lockHolder = (dir: string): number | undefined => {
  const pid = readPid(Path.join(dir, LOCK_FILE))
  return pid !== undefined && isAlive(pid) ? pid : undefined
}
