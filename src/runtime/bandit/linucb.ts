/**
 * LinUCB (Li et al. 2010, disjoint model): a contextual bandit for
 * `choose`. A run's inputs become a feature vector (numeric fields as they
 * are, other values hashed into a fixed number of buckets, plus a bias);
 * each option keeps a ridge regression of reward on features (A = I + Σ x xᵀ,
 * b = Σ r x) and the choice is the option with the highest upper confidence
 * bound θᵀx + α √(xᵀ A⁻¹ x). Choices report a propensity for off-policy
 * evaluation: with `epsilon` > 0 the choice is ε-mixed (ε/k uniform plus the
 * rest on the UCB winners), so every option keeps a positive probability.
 * Pure: numbers in, numbers out.
 */

/** Which inputs become features. */
export interface FeatureSpec {
  /** Input fields read as numbers (missing or non-numeric: 0). */
  readonly numeric: ReadonlyArray<string>
  /** Input fields hashed as categories (`field=value`) into `buckets` indicator features. */
  readonly categorical: ReadonlyArray<string>
  /** Hash buckets of the categorical features. @default 16 */
  readonly buckets?: number | undefined
}

/** The per-option ridge regressions of a key. */
export interface LinUcbModel {
  /** The feature dimension (bias included). */
  readonly d: number
  readonly arms: Readonly<Record<string, { readonly a: ReadonlyArray<number>; readonly b: ReadonlyArray<number> }>>
}

/** The default exploration width α. */
export const DEFAULT_ALPHA = 1

/** The dimension of a feature spec's vectors: bias + numeric + buckets. */
export const dimensionOf = (spec: FeatureSpec): number =>
  1 + spec.numeric.length + (spec.categorical.length > 0 ? spec.buckets ?? 16 : 0)

const fnv = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The feature vector of a run's inputs. */
export const featuresOf = (spec: FeatureSpec, inputs: Readonly<Record<string, unknown>>): Array<number> => {
  const x = [1]
  for (const f of spec.numeric) {
    const v = inputs[f]
    x.push(typeof v === "number" && Number.isFinite(v) ? v : typeof v === "boolean" ? (v ? 1 : 0) : 0)
  }
  if (spec.categorical.length > 0) {
    const buckets = spec.buckets ?? 16
    const hashed = new Array<number>(buckets).fill(0)
    for (const f of spec.categorical) {
      const v = inputs[f]
      if (v === undefined) continue
      hashed[fnv(`${f}=${typeof v === "string" ? v : JSON.stringify(v)}`) % buckets]! += 1
    }
    for (const h of hashed) x.push(h)
  }
  return x
}

/** The statistics of `option` in `model`, when it has its own (never an inherited property). */
export const armOfModel = (
  model: LinUcbModel,
  option: string
): { readonly a: ReadonlyArray<number>; readonly b: ReadonlyArray<number> } | undefined =>
  Object.prototype.hasOwnProperty.call(model.arms, option) ? model.arms[option] : undefined

/** An empty model of dimension `d`. */
export const emptyModel = (d: number): LinUcbModel => ({ d, arms: {} })

const identity = (d: number): Array<number> => {
  const m = new Array<number>(d * d).fill(0)
  for (let i = 0; i < d; i++) m[i * d + i] = 1
  return m
}

/** The model after `option` earned `reward` in context `x` (A += x xᵀ, b += r x). */
export const update = (model: LinUcbModel, option: string, x: ReadonlyArray<number>, reward: number): LinUcbModel => {
  const d = model.d
  const arm = armOfModel(model, option) ?? { a: identity(d), b: new Array<number>(d).fill(0) }
  const a = [...arm.a]
  const b = [...arm.b]
  for (let i = 0; i < d; i++) {
    b[i]! += reward * x[i]!
    for (let j = 0; j < d; j++) a[i * d + j]! += x[i]! * x[j]!
  }
  return { d, arms: { ...model.arms, [option]: { a, b } } }
}

/** Solves A y = v for symmetric positive definite A (Cholesky). */
const solve = (a: ReadonlyArray<number>, v: ReadonlyArray<number>, d: number): Array<number> => {
  const l = new Array<number>(d * d).fill(0)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * d + j]!
    }
  }
  const y = new Array<number>(d).fill(0)
  for (let i = 0; i < d; i++) {
    let s = v[i]!
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * y[k]!
    y[i] = s / l[i * d + i]!
  }
  const z = new Array<number>(d).fill(0)
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * z[k]!
    z[i] = s / l[i * d + i]!
  }
  return z
}

/** Each option's predicted reward θᵀx and upper confidence bound (an unseen option: 0 and α‖x‖). */
export const scoresOf = (
  model: LinUcbModel,
  options: ReadonlyArray<string>,
  x: ReadonlyArray<number>,
  alpha = DEFAULT_ALPHA
): ReadonlyArray<{ readonly option: string; readonly mean: number; readonly ucb: number }> =>
  options.map((option) => {
    const arm = armOfModel(model, option)
    const a = arm?.a ?? identity(model.d)
    const b = arm?.b ?? new Array<number>(model.d).fill(0)
    const theta = solve(a, b, model.d)
    const ainvx = solve(a, x, model.d)
    let mean = 0
    let width = 0
    for (let i = 0; i < model.d; i++) {
      mean += theta[i]! * x[i]!
      width += x[i]! * ainvx[i]!
    }
    return { option, mean, ucb: mean + alpha * Math.sqrt(Math.max(0, width)) }
  })

/**
 * The probability LinUCB gives each option in context `x`: the UCB winners share 1 − ε (ties split evenly),
 * every option gets ε/k. They sum to 1.
 */
export const probabilities = (
  model: LinUcbModel,
  options: ReadonlyArray<string>,
  x: ReadonlyArray<number>,
  alpha = DEFAULT_ALPHA,
  epsilon = 0
): ReadonlyMap<string, number> => {
  const scores = scoresOf(model, options, x, alpha)
  const top = Math.max(...scores.map((s) => s.ucb))
  const winners = scores.filter((s) => s.ucb >= top - 1e-12).map((s) => s.option)
  const k = options.length
  return new Map(
    options.map((o) => [o, epsilon / k + (winners.includes(o) ? (1 - epsilon) / winners.length : 0)] as const)
  )
}

/** Chooses by the probabilities with a uniform draw `u` in [0, 1); the option and its propensity. */
export const choose = (
  model: LinUcbModel,
  options: ReadonlyArray<string>,
  x: ReadonlyArray<number>,
  u: number,
  alpha = DEFAULT_ALPHA,
  epsilon = 0
): { readonly option: string; readonly propensity: number } => {
  const probs = probabilities(model, options, x, alpha, epsilon)
  let acc = 0
  for (const o of options) {
    acc += probs.get(o)!
    if (u < acc) return { option: o, propensity: probs.get(o)! }
  }
  const last = options[options.length - 1]!
  return { option: last, propensity: probs.get(last)! }
}

/** A model fitted from logged (context, option, reward) triples, in order. */
export const fit = (
  d: number,
  log: ReadonlyArray<{ readonly x: ReadonlyArray<number>; readonly option: string; readonly reward: number }>
): LinUcbModel => log.reduce((m, e) => update(m, e.option, e.x, e.reward), emptyModel(d))

/**
 * A fitted `prior` (offline, `fit`) with the statistics learned online on top: per option A = A_prior + A_online − I,
 * b = b_prior + b_online — the model `fit` gives on the prior's log followed by the online one. No prior: `online`.
 * Models of different dimensions do not combine: the prior is kept.
 */
export const combine = (prior: LinUcbModel | undefined, online: LinUcbModel | undefined): LinUcbModel | undefined => {
  if (online === undefined) return prior
  if (prior === undefined) return online
  if (prior.d !== online.d) return prior
  const d = prior.d
  const id = identity(d)
  const arms = new Map(Object.entries(prior.arms))
  for (const [option, arm] of Object.entries(online.arms)) {
    const base = armOfModel(prior, option)
    arms.set(
      option,
      base === undefined
        ? arm
        : { a: base.a.map((v, i) => v + arm.a[i]! - id[i]!), b: base.b.map((v, i) => v + arm.b[i]!) }
    )
  }
  return { d, arms: Object.fromEntries(arms) }
}

/** Whether every number of an option's statistics is finite (JSON, and so the stores, can hold it). */
export const isFiniteArm = (arm: { readonly a: ReadonlyArray<number>; readonly b: ReadonlyArray<number> }): boolean =>
  arm.a.every(Number.isFinite) && arm.b.every(Number.isFinite)
