/** Budgeters stop at their limit; hooks are off by default, compose in order, and veto. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Ref } from "effect"
import { makeBudgeter } from "../../../src/runtime/policy/budget.js"
import { composeHooks, Hooks, isEmptyHooks } from "../../../src/runtime/policy/hooks.js"
import type { NodeStart, RunHooks } from "../../../src/runtime/policy/hooks.js"
import { BudgetExceeded, Permanent } from "../../../src/tools/errors.js"

describe("makeBudgeter", () => {
  it.effect("allows spending up to the limit and fails past it", () =>
    Effect.gen(function*() {
      const budget = yield* makeBudgeter({ cost: 1, tokens: 100 })
      yield* budget.charge(0.5, 40)
      yield* budget.charge(0.5, 60)
      expect(yield* budget.spent).toEqual({ cost: 1, tokens: 100 })
      const over = yield* Effect.exit(budget.charge(0, 1))
      expect(over).toEqual(Exit.fail(new BudgetExceeded({ message: "budget exceeded: tokens 101 > limit 100" })))
      // once over, every further charge fails, even an empty one
      expect(Exit.isFailure(yield* Effect.exit(budget.charge(0, 0)))).toBe(true)
    }))

  it.effect("stops a run of steps at the step that exceeds it", () =>
    Effect.gen(function*() {
      const budget = yield* makeBudgeter({ cost: 3 })
      const ran = yield* Ref.make(0)
      const step = Effect.zipRight(budget.charge(1, 0), Ref.update(ran, (n) => n + 1))
      const exit = yield* Effect.exit(Effect.forEach(Array.from({ length: 10 }), () => step))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(ran)).toBe(3)
      expect(yield* budget.spent).toEqual({ cost: 4, tokens: 0 })
    }))

  it.effect("is unbounded without limits", () =>
    Effect.gen(function*() {
      const budget = yield* makeBudgeter({})
      yield* budget.charge(1e9, 1e9)
      expect(yield* budget.spent).toEqual({ cost: 1e9, tokens: 1e9 })
    }))
})

const node: NodeStart = { runId: "r", node: "main/a", kind: "tool", tool: "std.echo", args: { value: 1 } }

const logging = (log: Ref.Ref<ReadonlyArray<string>>, name: string, veto = false): RunHooks => ({
  preNode: (n) =>
    Effect.zipRight(
      Ref.update(log, (xs) => [...xs, `${name}:${n.node}`]),
      veto ? Effect.fail(new Permanent({ message: `${name} refused ${n.node}` })) : Effect.void
    )
})

describe("hooks", () => {
  it.effect("are off by default", () =>
    Effect.gen(function*() {
      const hooks = yield* Hooks
      expect(isEmptyHooks(hooks)).toBe(true)
    }))

  it.effect("are installed by Hooks.layer", () =>
    Effect.gen(function*() {
      const hooks = yield* Hooks
      expect(isEmptyHooks(hooks)).toBe(false)
      expect(hooks.postNode).toBeDefined()
    }).pipe(Effect.provide(Hooks.layer({ postNode: () => Effect.void }))))

  it.effect("compose in order: the first runs first", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const hooks = composeHooks(logging(log, "a"), logging(log, "b"))
      yield* hooks.preNode!(node)
      expect(yield* Ref.get(log)).toEqual(["a:main/a", "b:main/a"])
      expect(hooks.preRun).toBeUndefined()
    }))

  it.effect("a veto fails with its error and skips the hooks after it", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const hooks = composeHooks(logging(log, "a", true), logging(log, "b"))
      const exit = yield* Effect.exit(hooks.preNode!(node))
      expect(exit).toEqual(Exit.fail(new Permanent({ message: "a refused main/a" })))
      expect(yield* Ref.get(log)).toEqual(["a:main/a"])
    }))

  it.effect("composition is associative with {} as identity", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const [a, b, c] = [logging(log, "a"), logging(log, "b"), logging(log, "c")]
      const left = composeHooks(composeHooks(a, b), c)
      const right = composeHooks(a, composeHooks(b, c))
      yield* left.preNode!(node)
      const l = yield* Ref.getAndSet(log, [])
      yield* right.preNode!(node)
      expect(yield* Ref.get(log)).toEqual(l)
      expect(composeHooks({}, a).preNode).toBe(a.preNode)
      expect(composeHooks(a, {}).preNode).toBe(a.preNode)
    }))
})
