/**
 * Pooling a transformer's token states into one sentence vector (pure):
 * `mean` averages the states of the tokens the attention mask keeps
 * (padding excluded), `cls` takes the first token's state; `l2Normalize`
 * scales to unit length, as sentence-transformers' `Normalize` module does.
 */

/** How token states become one vector. */
export type Pooling = "mean" | "cls"

/** Scales a vector to unit length (a zero vector stays zero); returns a plain array. */
export const l2Normalize = (v: ArrayLike<number>): Array<number> => {
  let norm = 0
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!
  norm = Math.sqrt(norm)
  const out = new Array<number>(v.length)
  for (let i = 0; i < v.length; i++) out[i] = norm > 0 ? v[i]! / norm : 0
  return out
}

/**
 * Pools row `b` of a `[batch, seq, hidden]` tensor (row-major `data`) with
 * the mask row (1 = real token, 0 = padding).
 */
export const poolRow = (
  data: ArrayLike<number>,
  mask: ArrayLike<number | bigint>,
  b: number,
  seq: number,
  hidden: number,
  pooling: Pooling
): Float64Array => {
  const out = new Float64Array(hidden)
  const base = b * seq * hidden
  if (pooling === "cls") {
    for (let h = 0; h < hidden; h++) out[h] = data[base + h]!
    return out
  }
  let count = 0
  for (let t = 0; t < seq; t++) {
    if (Number(mask[b * seq + t]) === 0) continue
    count++
    const row = base + t * hidden
    for (let h = 0; h < hidden; h++) out[h] = out[h]! + data[row + h]!
  }
  const n = Math.max(count, 1e-9)
  for (let h = 0; h < hidden; h++) out[h] = out[h]! / n
  return out
}
