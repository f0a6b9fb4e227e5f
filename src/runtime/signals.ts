/**
 * Signals of durable waits (SPEC §11): the `SignalInbox` a `wait` step
 * takes its answer from. A signal is stored per run under its name and
 * deduplicated by its `signalId` (the same signal twice is one signal); a
 * wait claims the oldest unclaimed signal of its name, and claims the same
 * one again when it runs again (a resumed run), so a signal answers one
 * wait once. Signals sent before the wait is reached stay buffered until
 * it claims them. `listen` lets a live run in this process hear that a
 * signal arrived (the store layer keeps the same doorbell: a signal sent
 * through it wakes the live run at once).
 *
 * The default is an in-memory inbox shared by the process (library use);
 * the store layer replaces it with the SQL one (store/signals.ts).
 */
import { Context, Deferred, Effect, Layer, Option } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { Json } from "../ir/eval.js"
import type { StoreError } from "../trace/errors.js"

/** A signal as a wait receives it. */
export interface Signal {
  readonly signalId: string
  readonly payload: Json
}

/** A signal to deliver. */
export interface SignalInput extends Signal {
  readonly runId: string
  readonly name: string
  /** Clock ms when it arrived. */
  readonly at: number
}

/** The signals service. */
export interface SignalInboxService {
  /** Stores a signal; false when a signal with this id was already stored for the run (nothing changes). */
  readonly send: (signal: SignalInput) => Effect.Effect<boolean, StoreError>
  /** Claims, for the wait at `path`, the signal it claimed before, else the oldest unclaimed one named `name`. */
  readonly claim: (runId: string, name: string, path: string) => Effect.Effect<Option.Option<Signal>, StoreError>
  /** An effect that completes at the next signal sent to the run in this process (registered now). */
  readonly listen: (runId: string) => Effect.Effect<Effect.Effect<void>>
}

/** In-process doorbells: who listens for a run's next signal. */
export class Doorbells {
  private readonly listeners = new Map<string, Set<Deferred.Deferred<void>>>()

  /** Registers a listener now; the returned effect waits for the next ring (and unregisters). */
  readonly listen = (runId: string): Effect.Effect<Effect.Effect<void>> =>
    Effect.map(Deferred.make<void>(), (d) => {
      let set = this.listeners.get(runId)
      if (set === undefined) this.listeners.set(runId, set = new Set())
      set.add(d)
      return Effect.ensuring(
        Deferred.await(d),
        Effect.sync(() => {
          const s = this.listeners.get(runId)
          s?.delete(d)
          if (s?.size === 0) this.listeners.delete(runId)
        })
      )
    })

  /** Wakes every listener of the run. */
  readonly ring = (runId: string): Effect.Effect<void> =>
    Effect.sync(() => {
      const set = this.listeners.get(runId)
      if (set === undefined) return
      this.listeners.delete(runId)
      for (const d of set) Deferred.unsafeDone(d, Effect.void)
    })
}

interface Stored {
  readonly name: string
  readonly signalId: string
  readonly payload: Json
  claimedBy: string | undefined
}

/** An in-memory inbox (one per call). */
export const makeMemoryInbox = (): SignalInboxService => {
  const byRun = new Map<string, Array<Stored>>()
  const bells = new Doorbells()
  return {
    send: (s) =>
      Effect.suspend(() => {
        let list = byRun.get(s.runId)
        if (list === undefined) byRun.set(s.runId, list = [])
        if (list.some((x) => x.signalId === s.signalId)) return Effect.succeed(false)
        list.push({ name: s.name, signalId: s.signalId, payload: s.payload, claimedBy: undefined })
        return Effect.as(bells.ring(s.runId), true)
      }),
    claim: (runId, name, path) =>
      Effect.sync(() => {
        const list = byRun.get(runId) ?? []
        const mine = list.find((x) => x.claimedBy === path)
        const hit = mine ?? list.find((x) => x.name === name && x.claimedBy === undefined)
        if (hit === undefined) return Option.none()
        hit.claimedBy = path
        return Option.some({ signalId: hit.signalId, payload: hit.payload })
      }),
    listen: bells.listen
  }
}

const processInbox = globalValue("trellis/runtime/signalInbox", makeMemoryInbox)

/** The signal inbox in force; by default an in-memory inbox shared by the process. */
export class SignalInbox extends Context.Reference<SignalInbox>()("trellis/SignalInbox", {
  defaultValue: (): SignalInboxService => processInbox
}) {
  /** A fresh in-memory inbox. */
  static readonly layerMemory: Layer.Layer<never> = Layer.sync(SignalInbox, makeMemoryInbox)
}
