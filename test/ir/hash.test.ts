import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { sha256Hex } from "../../src/ir/hash.js"

const nodeSha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

describe("sha256Hex", () => {
  it("matches the NIST vectors", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
    expect(
      sha256Hex(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
      )
    ).toBe("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
  })

  it("hashes one million 'a'", () => {
    expect(sha256Hex("a".repeat(1_000_000))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  })

  it("handles every padding boundary (lengths 0..130)", () => {
    for (let n = 0; n <= 130; n++) {
      const text = "x".repeat(n)
      expect(sha256Hex(text)).toBe(nodeSha256(text))
    }
  })

  it("encodes UTF-8: multi-byte characters, astral planes and lone surrogates", () => {
    for (
      const text of [
        "café",
        "日本語",
        "🎉 emoji",
        "\u0000\u007f\u0080\u07ff\u0800\uffff",
        "\ud800",
        "a\udc00b",
        "\ud83d"
      ]
    ) {
      expect(sha256Hex(text)).toBe(nodeSha256(text))
    }
  })

  it("agrees with node:crypto on random strings", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 200 }), fc.fullUnicodeString()),
        (text) => {
          expect(sha256Hex(text)).toBe(nodeSha256(text))
        }
      ),
      { numRuns: 500 }
    )
  })
})
