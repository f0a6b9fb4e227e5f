/**
 * LinUCB learning online (issue 20, item 5): a choice records its context in `ChoiceMade`, `Runtime.feedback`
 * passes it to the policy store, and the key's statistics after the feedbacks are exactly the model the offline
 * fit (`fit`, what `eval policy --target linucb --save` writes) gives on the same (context, option, reward) log;
 * with a fitted model as a prior, online statistics add to it as if its log continued.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Random, Schema } from "effect"
import { combine, dimensionOf, featuresOf, fit, scoresOf } from "../../../src/runtime/bandit/linucb.js"
import type { FeatureSpec, LinUcbModel } from "../../../src/runtime/bandit/linucb.js"
import { makeUniform } from "../../../src/runtime/bandit/sample.js"
import { applyFeedback, BanditState, emptyState, linearOf } from "../../../src/runtime/bandit/state.js"
import type { BanditStrategy } from "../../../src/runtime/bandit/state.js"
import { PolicyStore } from "../../../src/runtime/bandit/store.js"
import { chooseArm } from "../../../src/runtime/bandit/strategy.js"
import * as Durable from "../../../src/runtime/durable.js"
import { RunStore } from "../../../src/runtime/runStore.js"
import * as Runtime from "../../../src/runtime/runtime.js"
import { compileProgram, eventsOf, testLayer } from "../../support/runtime.js"

const OPTIONS = ["short", "long"]
const SPEC: FeatureSpec = { numeric: ["length"], categorical: ["segment"], buckets: 4 }
const D = dimensionOf(SPEC)

/** A seeded log of (context, option, reward): the reward depends on the option and the context. */
const logOf = (n: number, seed: number) => {
  const u = makeUniform(seed)
  return Array.from({ length: n }, () => {
    const inputs = { length: Math.round(u() * 100) / 10, segment: u() < 0.5 ? "pro" : "free" }
    const x = featuresOf(SPEC, inputs)
    const option = OPTIONS[Math.floor(u() * 2)]!
    const reward = option === "long" ? 0.1 * inputs.length + u() * 0.3 : 0.6 + u() * 0.3
    return { x, option, reward }
  })
}

const expectClose = (actual: LinUcbModel | undefined, expected: LinUcbModel) => {
  expect(actual).toBeDefined()
  expect(actual!.d).toBe(expected.d)
  expect(Object.keys(actual!.arms).sort()).toEqual(Object.keys(expected.arms).sort())
  for (const [option, arm] of Object.entries(expected.arms)) {
    const got = actual!.arms[option]!
    expect(got.a.length).toBe(arm.a.length)
    arm.a.forEach((v, i) => expect(Math.abs(got.a[i]! - v)).toBeLessThan(1e-9))
    arm.b.forEach((v, i) => expect(Math.abs(got.b[i]! - v)).toBeLessThan(1e-9))
  }
}

describe("LinUCB online", () => {
  it.effect("feedback with contexts gives the offline fit of the same log (to 1e-9), through the PolicyStore", () =>
    Effect.gen(function*() {
      const log = logOf(200, 7)
      const store = yield* PolicyStore
      for (const e of log) yield* store.feedback("style", e.option, e.reward, e.x)
      const state = yield* store.snapshot("style")
      expect(state.version).toBe(200)
      expectClose(linearOf(state, D), fit(D, log))
      // The state (with its matrices) survives the JSON the SQL store keeps it as.
      expect(Schema.decodeUnknownSync(BanditState)(JSON.parse(JSON.stringify(state)))).toEqual(state)
    }).pipe(Effect.provide(PolicyStore.layerMemory)))

  it.effect("a choice on the online statistics is the choice of the strategy fitted offline on the same log", () =>
    Effect.gen(function*() {
      const log = logOf(120, 11)
      const state = log.reduce((s, e) => applyFeedback(s, e.option, e.reward, e.x), emptyState("style"))
      const base: BanditStrategy = { kind: "linucb", features: SPEC, alpha: 0.5, epsilon: 0.1 }
      for (const [i, e] of logOf(30, 12).entries()) {
        const online = yield* Effect.withRandom(
          chooseArm(state, OPTIONS, { ...base, context: e.x }),
          Random.make(i)
        )
        const offline = yield* Effect.withRandom(
          chooseArm(emptyState("style"), OPTIONS, { ...base, context: e.x, model: fit(D, log) }),
          Random.make(i)
        )
        expect(online.option).toBe(offline.option)
        expect(Math.abs(online.propensity - offline.propensity)).toBeLessThan(1e-9)
        expect(online.context).toEqual(e.x)
      }
    }))

  it("online statistics on top of a fitted prior equal the fit of the prior's log followed by the online one", () => {
    const first = logOf(80, 3)
    const second = logOf(60, 4)
    const online = second.reduce((s, e) => applyFeedback(s, e.option, e.reward, e.x), emptyState("k"))
    expectClose(combine(fit(D, first), linearOf(online, D)), fit(D, [...first, ...second]))
    // Without a prior the online model is used as it is; a prior of another dimension is kept.
    expect(combine(undefined, linearOf(online, D))).toBe(linearOf(online, D))
    const other = fit(D + 1, [])
    expect(combine(other, linearOf(online, D))).toBe(other)
  })

  it("a reward without a context, or with a non-finite one, teaches only the context-free statistics", () => {
    const plain = applyFeedback(emptyState("k"), "short", 1)
    expect(plain.linear).toBeUndefined()
    expect(plain.arms["short"]?.pulls).toBe(1)
    const bad = applyFeedback(emptyState("k"), "short", 1, [1, Number.NaN])
    expect(bad.linear).toBeUndefined()
    const huge = applyFeedback(emptyState("k"), "short", 1, [1, 1e200])
    expect(huge.linear).toBeUndefined()
    expect(huge.version).toBe(1)
    // Contexts of other dimensions (the features changed) keep statistics of their own.
    const two = applyFeedback(applyFeedback(emptyState("k"), "short", 1, [1, 2]), "long", 0, [1, 2, 3])
    expect(Object.keys(two.linear ?? {}).sort()).toEqual(["2", "3"])
  })

  it.effect("a run records the context in ChoiceMade; Runtime.feedback teaches the key's LinUCB in it", () =>
    Effect.gen(function*() {
      const program = compileProgram(`program main(length: number, segment: string) {
  c = choose "style" {
    short: { return "s" }
    long: { return "l" }
  }
  return c
}`)
      const strategy: BanditStrategy = { kind: "linucb", features: SPEC, alpha: 0.2, epsilon: 0.05 }
      const inputs = { length: 4.5, segment: "pro" }
      const first = yield* Runtime.run(program, inputs, { seed: 1, strategies: { style: strategy } })
      const made = (yield* eventsOf(first.runId)).find((e) => e.type === "ChoiceMade")
      if (made?.type !== "ChoiceMade") throw new Error("no ChoiceMade")
      const x = featuresOf(SPEC, inputs)
      expect(made.data.context).toEqual(x)
      expect(made.data.policy).toBe("linucb(0.2)")
      yield* Runtime.feedback(first.runId, "style", 0.75)
      const state = yield* Effect.flatMap(PolicyStore, (p) => p.snapshot("style"))
      expectClose(linearOf(state, D), fit(D, [{ x, option: made.data.option, reward: 0.75 }]))
      // The learned model moves the next choice in this context: its score for the rewarded option rose.
      const scores = scoresOf(linearOf(state, D)!, OPTIONS, x, 0)
      expect(scores.find((s) => s.option === made.data.option)!.mean).toBeGreaterThan(0)
      // A context-free strategy records no context.
      const plain = yield* Runtime.run(program, inputs, { seed: 2 })
      const plainMade = (yield* eventsOf(plain.runId)).find((e) => e.type === "ChoiceMade")
      expect(plainMade?.type === "ChoiceMade" && plainMade.data.context).toBe(undefined)
    }).pipe(Effect.provide(testLayer())))

  it.live("a LinUCB run replays exactly, its context taken from the record, after the policy learned", () =>
    Effect.gen(function*() {
      const program = compileProgram(`program main(length: number, segment: string) {
  c = choose "style" {
    short: { return "s" }
    long: { return "l" }
  }
  return c
}`)
      const strategy: BanditStrategy = { kind: "linucb", features: SPEC, alpha: 1, epsilon: 0.05 }
      const r = yield* Durable.start(program, { length: 2, segment: "free" }, {
        seed: 5,
        strategies: { style: strategy }
      })
      yield* Runtime.feedback(r.runId, "style", 1)
      const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(replayed.exact).toBe(true)
      expect(replayed.output).toEqual(r.output)
      // A trace whose ChoiceMade has no context (recorded before contexts were) replays exactly too.
      const events = (yield* Durable.eventsOf(r.runId)).map((e) => {
        if (e.type !== "ChoiceMade") return e
        const { context: _, ...data } = e.data
        return { ...e, data }
      })
      const old = yield* Durable.replay({ _tag: "Trace", events: events as typeof events, program })
      expect(old.exact).toBe(true)
    }).pipe(Effect.provide(Layer.merge(testLayer(), RunStore.layerMemory))))
})
