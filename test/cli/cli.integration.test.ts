/** The CLI as a user runs it: a real child process per command, real files and stdin. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

const trellis = (args: ReadonlyArray<string>, input?: string) => runTrellis([...args], { input: input ?? "" })

const scratch = mkdtempSync(join(tmpdir(), "trellis-cli-"))
const write = (name: string, text: string) => {
  const path = join(scratch, name)
  writeFileSync(path, text)
  return path
}

const broken = `program main(q: string) {
  a = tool search(query: qq)
  b = c + 1
  c = b * 2
  return a
}
`

describe("trellis CLI", () => {
  it("--help lists the commands", async () => {
    const r = await trellis(["--help"])
    expect(r.code).toBe(0)
    for (const c of ["check", "fmt", "normalize", "compile", "tokens", "schema"]) expect(r.stdout).toContain(c)
  })

  it("check passes a valid example and prints its hash", async () => {
    const r = await trellis(["check", "examples/research.tr"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^examples\/research\.tr: ok \(\d+ nodes, hash [0-9a-f]{64}\)\n$/)
  })

  it("check reports every violation as file:line:col code message and exits 1", async () => {
    const file = write("broken.tr", broken)
    const r = await trellis(["check", file])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${file}:2:26 unbound-ref Unbound reference "qq"`)
    expect(r.stdout).toMatch(new RegExp(`${file}:3:\\d+ cycle Cycle: b -> c -> b`))
    expect(r.stderr).toContain("problems")
  })

  it("check reads stdin with -", async () => {
    const r = await trellis(["check", "-"], broken)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`<stdin>:2:26 unbound-ref`)
  })

  it("check reports syntax errors with a caret excerpt, several in one pass", async () => {
    const r = await trellis(["check", "-"], "program main( {\n  a = tool f(x: )\n  b = = 3\n}\n")
    expect(r.code).toBe(1)
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("<stdin>:"))
    expect(lines.length).toBeGreaterThanOrEqual(2)
    expect(r.stdout).toContain("^")
  })

  it("check locates problems in JSON IR at file:line:col", async () => {
    const ir = JSON.stringify(
      {
        ir: "trellis/1",
        entry: "main",
        programs: {
          main: {
            params: [],
            nodes: [{ id: "a", kind: "expr", expr: { kind: "ref", name: "nope" } }],
            result: { kind: "ref", name: "a" }
          }
        },
        signatures: {}
      },
      null,
      2
    )
    const file = write("bad.json", ir)
    const r = await trellis(["check", file])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(new RegExp(`${file}:\\d+:\\d+ unbound-ref Unbound reference "nope"`))
  })

  it("a missing file is one clear line, no stack trace", async () => {
    const r = await trellis(["check", "does/not/exist.tr"])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe("error: does/not/exist.tr: no such file")
  })

  it("fmt prints canonical text, and --check tells formatted from not", async () => {
    const messy = write("messy.tr", "program   main(q:string){ a=tool search(query:q,k:1+2*3)\n return a }")
    const formatted = await trellis(["fmt", messy])
    expect(formatted.code).toBe(0)
    expect(formatted.stdout).toContain("a = tool search(query: q, k: 1 + 2 * 3)")
    expect((await trellis(["fmt", "--check", messy])).code).toBe(1)
    const clean = write("clean.tr", formatted.stdout)
    expect((await trellis(["fmt", "--check", clean])).code).toBe(0)
    expect((await trellis(["fmt", "--write", messy])).code).toBe(0)
    expect(readFileSync(messy, "utf8")).toBe(formatted.stdout)
  })

  it("normalize --hash is stable under renaming and reordering; --json is IR", async () => {
    const a = write(
      "a.tr",
      "program main(q: string) {\n  x = tool search(query: q, k: 2 * 10)\n  y = tool rank(docs: x)\n  return y\n}\n"
    )
    const b = write(
      "b.tr",
      "program main(q: string) {\n  ranked = tool rank(docs: hits)\n  hits = tool search(query: q, k: 20)\n  return ranked\n}\n"
    )
    const ha = await trellis(["normalize", "--hash", a])
    const hb = await trellis(["normalize", "--hash", b])
    expect(ha.code).toBe(0)
    expect(ha.stdout).toMatch(/^[0-9a-f]{64}\n$/)
    expect(ha.stdout).toBe(hb.stdout)
    const json = JSON.parse((await trellis(["normalize", "--json", b])).stdout)
    expect(json.ir).toBe("trellis/1")
    expect(json.labels).toBeDefined()
  })

  it("compile emits JSON IR that check accepts and that normalizes to the same hash", async () => {
    const compiled = await trellis(["compile", "examples/fanout.tr"])
    expect(compiled.code).toBe(0)
    const file = write("fanout.json", compiled.stdout)
    expect(JSON.parse(compiled.stdout).ir).toBe("trellis/1")
    expect((await trellis(["check", file])).code).toBe(0)
    expect((await trellis(["normalize", "--hash", file])).stdout).toBe(
      (await trellis(["normalize", "--hash", "examples/fanout.tr"])).stdout
    )
  })

  it("tokens round-trips through tokens --decode", async () => {
    const tokens = await trellis(["tokens", "examples/choose.tr"])
    expect(tokens.code).toBe(0)
    expect(tokens.stdout).toContain("<open:")
    const decoded = await trellis(["tokens", "--decode", "-"], tokens.stdout)
    expect(decoded.code).toBe(0)
    expect(JSON.parse(decoded.stdout)).toEqual(JSON.parse((await trellis(["compile", "examples/choose.tr"])).stdout))
  })

  it("schema prints a JSON Schema", async () => {
    const r = await trellis(["schema"])
    expect(r.code).toBe(0)
    const schema = JSON.parse(r.stdout)
    expect(schema.$schema).toContain("json-schema")
  })
})
