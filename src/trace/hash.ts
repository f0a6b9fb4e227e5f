/**
 * Content hashes carried by run events (args, outputs, inputs): a fast
 * 64-bit non-cryptographic hash of a value's canonical JSON, as 16 hex
 * digits. They detect divergence on replay; identities that must resist
 * collisions (program hashes, idempotency and cache keys) use sha256.
 */
import { canonicalJson } from "../ir/canonical.js"

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const hex8 = (h: number): string => HEX[(h >>> 24) & 255]! + HEX[(h >>> 16) & 255]! + HEX[(h >>> 8) & 255]! + HEX[h & 255]!

/** A 64-bit hash of a string (two murmur3-style 32-bit lanes over UTF-16 code units), as 16 hex digits. */
export const hashText = (text: string): string => {
  let h1 = 0x9e3779b9 ^ text.length
  let h2 = 0x85ebca6b ^ text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0xcc9e2d51)
    h1 = (h1 << 15) | (h1 >>> 17)
    h2 = Math.imul(h2 ^ c, 0x1b873593)
    h2 = (h2 << 13) | (h2 >>> 19)
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0
  }
  h1 ^= h2 >>> 16
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b)
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35)
  h1 ^= h1 >>> 16
  h2 ^= h1
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b)
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35)
  h2 ^= h2 >>> 16
  return hex8(h1) + hex8(h2)
}

/** The content hash of a JSON value: `hashText` of its canonical JSON. */
export const hashJson = (value: unknown): string => hashText(canonicalJson(value))
