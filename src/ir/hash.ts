/**
 * The primitive string hashes, in pure TypeScript (no Node APIs, so they run
 * in the pure core and in browsers):
 *
 * - `sha256Hex`: SHA-256 (FIPS 180-4) of the UTF-8 encoding of a string, for
 *   identities that must resist collisions (program hashes, idempotency and
 *   cache keys, content hashes). Lone surrogates are encoded as U+FFFD, as
 *   `TextEncoder` and Node's `crypto` do.
 * - `fastHash`: a 128-bit non-cryptographic hash, for structural hashes
 *   compared within one process (normalize/structuralHash.ts).
 *
 * The content hash of run events (`hashJson`, 64-bit, fed incrementally from
 * a value) is trace/contentHash.ts.
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2
])

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

/** Number of UTF-8 bytes of `text` (lone surrogates count as U+FFFD, 3 bytes). */
const utf8Length = (text: string): number => {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
}

/** Writes the UTF-8 encoding of `text` into `out` from offset 0; returns the byte count. */
const encodeUtf8Into = (text: string, out: Uint8Array): number => {
  let p = 0
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c < 0x80) {
      out[p++] = c
      continue
    }
    if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6)
      out[p++] = 0x80 | (c & 63)
      continue
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        out[p++] = 0xf0 | (cp >> 18)
        out[p++] = 0x80 | ((cp >> 12) & 63)
        out[p++] = 0x80 | ((cp >> 6) & 63)
        out[p++] = 0x80 | (cp & 63)
        i++
        continue
      }
      c = 0xfffd
    }
    out[p++] = 0xe0 | (c >> 12)
    out[p++] = 0x80 | ((c >> 6) & 63)
    out[p++] = 0x80 | (c & 63)
  }
  return p
}

/** Runs the compression function over every 64-byte block of `bytes`. */
const W = new Int32Array(64)

const compress = (bytes: Uint8Array, state: Int32Array): void => {
  const w = W
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let h0 = state[0]!, h1 = state[1]!, h2 = state[2]!, h3 = state[3]!
  let h4 = state[4]!, h5 = state[5]!, h6 = state[6]!, h7 = state[7]!
  for (let off = 0; off < bytes.length; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(off + t * 4)
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!
      const y = w[t - 2]!
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (h + S1 + ch + K[t]! + w[t]!) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (S0 + maj) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h0 = (h0 + a) | 0
    h1 = (h1 + b) | 0
    h2 = (h2 + c) | 0
    h3 = (h3 + d) | 0
    h4 = (h4 + e) | 0
    h5 = (h5 + f) | 0
    h6 = (h6 + g) | 0
    h7 = (h7 + h) | 0
  }
  state[0] = h0
  state[1] = h1
  state[2] = h2
  state[3] = h3
  state[4] = h4
  state[5] = h5
  state[6] = h6
  state[7] = h7
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** SHA-256 of the UTF-8 encoding of `text`, as 64 lowercase hex digits. */
export const sha256Hex = (text: string): string => {
  const length = utf8Length(text)
  // Message, the 0x80 marker, zero padding, and the 64-bit bit length.
  const padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64)
  encodeUtf8Into(text, padded)
  padded[length] = 0x80
  const bits = length * 8
  const end = padded.length
  padded[end - 1] = bits & 0xff
  padded[end - 2] = (bits >>> 8) & 0xff
  padded[end - 3] = (bits >>> 16) & 0xff
  padded[end - 4] = (bits >>> 24) & 0xff
  const high = Math.floor(bits / 0x100000000)
  padded[end - 5] = high & 0xff
  padded[end - 6] = (high >>> 8) & 0xff
  padded[end - 7] = (high >>> 16) & 0xff
  padded[end - 8] = (high >>> 24) & 0xff
  const state = new Int32Array(INITIAL)
  compress(padded, state)
  let out = ""
  for (let i = 0; i < 8; i++) {
    const v = state[i]!
    out += HEX[(v >>> 24) & 0xff]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!
  }
  return out
}

/**
 * A fast 128-bit non-cryptographic hash of a string (four multiplicative
 * lanes over UTF-16 code units), as 32 hex digits.
 */
export const fastHash = (text: string): string => {
  let h1 = 0x9e3779b9 | 0
  let h2 = 0x85ebca6b | 0
  let h3 = 0xc2b2ae35 | 0
  let h4 = 0x27d4eb2f | 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x9e3779b1)
    h2 = Math.imul(h2 ^ c, 0x85ebca77)
    h3 = Math.imul(h3 ^ c, 0xc2b2ae3d)
    h4 = Math.imul(h4 ^ c, 0x27d4eb2d)
    h1 = (h1 << 13) | (h1 >>> 19)
    h3 = (h3 << 11) | (h3 >>> 21)
  }
  const n = text.length
  h1 ^= n
  h2 ^= n
  h3 ^= n
  h4 ^= n
  // Final avalanche, each lane mixed with the others.
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ h2
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ h3
  h3 = Math.imul(h3 ^ (h3 >>> 16), 0x27d4eb2f) ^ h4
  h4 = Math.imul(h4 ^ (h4 >>> 15), 0x165667b1) ^ h1
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x9e3779b1)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca77)
  h3 = Math.imul(h3 ^ (h3 >>> 16), 0xc2b2ae3d)
  h4 = Math.imul(h4 ^ (h4 >>> 16), 0x27d4eb2d)
  return hex8(h1) + hex8(h2) + hex8(h3) + hex8(h4)
}

const hex8 = (h: number): string =>
  HEX[(h >>> 24) & 255]! + HEX[(h >>> 16) & 255]! + HEX[(h >>> 8) & 255]! + HEX[h & 255]!
