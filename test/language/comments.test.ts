import { describe, expect, it } from "vitest"
import {
  attachComments,
  type CommentMap,
  compileSource,
  format,
  lower,
  parse,
  print
} from "../../src/language/index.js"
import { examples } from "../support/language.js"

/** Formats a source that must parse. */
const fmt = (source: string): string => {
  const r = format(source)
  if (r.text === undefined) throw new Error(r.errors.map((e) => e.message + "\n" + e.excerpt).join("\n"))
  return r.text
}

/** The comment map of a source that must parse. */
const attach = (source: string): { readonly map: CommentMap; readonly sourceMap: ReadonlyMap<string, unknown> } => {
  const file = parse(source).file
  if (file === undefined) throw new Error("syntax errors")
  const { sourceMap } = lower(file)
  return { map: attachComments(file, sourceMap), sourceMap }
}

/** Formatting `source` gives `expected`, which formats to itself. */
const expectFormat = (source: string, expected: string): void => {
  const text = fmt(source)
  expect(text).toBe(expected)
  expect(fmt(text)).toBe(text)
  expect(compileSource(text).program).toEqual(compileSource(source).program)
}

describe("attachComments", () => {
  it("assigns leading, trailing and end comments by IR pointer", () => {
    const { map } = attach(`# about main
program main(q: string) {
  # before a
  a = tool f(x: q) # after a
  return a # the result
  # at the end
}
# end of file
`)
    expect(Object.fromEntries(map)).toEqual({
      "/programs/main": {
        leading: [{ text: " about main", blankBefore: false }],
        trailing: undefined,
        end: [{ text: " at the end", blankBefore: false }],
        blankBefore: false
      },
      "/programs/main/nodes/0": {
        leading: [{ text: " before a", blankBefore: false }],
        trailing: " after a",
        end: [],
        blankBefore: false
      },
      "/programs/main/result": { leading: [], trailing: " the result", end: [], blankBefore: false },
      "": { leading: [], trailing: undefined, end: [{ text: " end of file", blankBefore: false }], blankBefore: false }
    })
  })

  it("uses pointers of the source map (elements) or of lists (params, options, the file)", () => {
    for (const [name, source] of examples) {
      const { map, sourceMap } = attach(source)
      for (const pointer of map.keys()) {
        const ok = sourceMap.has(pointer) || pointer.endsWith("/params") || pointer.endsWith("/options")
        expect(ok, `${name}: ${pointer}`).toBe(true)
      }
    }
  })

  it("gives nothing for a file without comments or blank lines", () => {
    expect(attach("program main() {\n  a = 1\n  return a\n}\n").map.size).toBe(0)
  })
})

describe("print with comments", () => {
  it("prints exactly today's text without comments, and with an empty map", () => {
    for (const [, source] of examples) {
      const p = compileSource(source).program!
      expect(print(p, { comments: new Map() })).toBe(print(p))
      expect(print(p, {})).toBe(print(p))
    }
  })
})

describe("format", () => {
  it("reports syntax errors and gives no text", () => {
    const r = format("program main( {")
    expect(r.text).toBeUndefined()
    expect(r.errors.length).toBeGreaterThan(0)
  })

  it("keeps own-line comments before statements, at the end of blocks and of the file, with blank lines", () => {
    expectFormat(
      `# header


# about main
program   main(q:string){
  # first


  a = tool f(x: q)
  # about b

  b=a
  # done
}

# end of file
`,
      `# header

# about main
program main(q: string) {
  # first

  a = tool f(x: q)
  # about b

  b = a
  # done
}

# end of file
`
    )
  })

  it("prints a trailing comment at the end of its element's first line; more than one become leading", () => {
    expectFormat(
      `program main() {
  x = tool f()   # a
    with { timeout: "1s" }  # b
  y = map i in [1, 2] { return i } # after the block
}
`,
      `program main() {
  # b
  x = tool f() with { timeout: "1s" } # a
  y = map i in [1, 2] { # after the block
    return i
  }
}
`
    )
  })

  it("moves comments inside expressions and policies to the statement (own-line ones before it)", () => {
    expectFormat(
      `program main() {
  y = {
    # about k
    k: 1,
    j: [2, # two
        3]
  } with {
    # a label
    label: "y"
  }
}
`,
      `program main() {
  # about k
  # a label
  y = { k: 1, j: [2, 3] } with { label: "y" } # two
}
`
    )
  })

  it("prints params one per line when comments are among them", () => {
    expectFormat(
      `program main(q: string, # the query
  # how many
  k: number = 5, flag: boolean = true # last
  # after the params
) {
  return q
}

program other(a: string, b: number) { return a }
`,
      `program main(
  q: string, # the query
  # how many
  k: number = 5,
  flag: boolean = true # last
  # after the params
) {
  return q
}

program other(a: string, b: number) {
  return a
}
`
    )
  })

  it("keeps comments of signatures with their doc and fields, also when fields move", () => {
    expectFormat(
      `signature S { # what S is
  "Doc." # the doc
  # an output first
  output o: string
  input i: number # the input
  # no more fields
}
`,
      `signature S { # what S is
  "Doc." # the doc
  input i: number # the input
  # an output first
  output o: string
  # no more fields
}
`
    )
  })

  it("keeps comments around else-if chains and choose options", () => {
    expectFormat(
      `program main(a: number) {
  t = if a > 2 {
    return 1
  }
  # between } and else
  else if a > 1 { # second branch
    return 2
  } else {
    return 3 # last branch
  }
  c = choose "k" { # the choice
    # the short one
    short: { return 1 } # one line
    long: {
      return 2
    }
    # no more options
  }
}
`,
      `program main(a: number) {
  # between } and else
  t = if a > 2 {
    return 1
  } else if a > 1 { # second branch
    return 2
  } else {
    return 3 # last branch
  }
  c = choose "k" { # the choice
    # the short one
    short: { # one line
      return 1
    }
    long: {
      return 2
    }
    # no more options
  }
}
`
    )
  })

  it("ends a then block with the comments of the else-if after it", () => {
    expectFormat(
      `program main(a: number) {
  t = if a > 2 {
    return 1
  } else {
    # before the inner if
    return if a > 1 { return 2 } else { return 3 }
  }
}
`,
      `program main(a: number) {
  t = if a > 2 {
    return 1
    # before the inner if
  } else if a > 1 {
    return 2
  } else {
    return 3
  }
}
`
    )
  })

  it("keeps the comments of a program's `return null`, which is not printed", () => {
    expectFormat(
      `program main() {
  x = 1
  # before null
  return null # nothing
}
`,
      `program main() {
  x = 1
  # before null
  # nothing
}
`
    )
  })

  it("keeps the comments of a duplicate declaration, which fmt drops", () => {
    expectFormat(
      `program p() { return 1 }
# the duplicate
program p() {
  return 2 # two
}
program q() { return 3 }
`,
      `program p() {
  return 1
}

# the duplicate
# two
program q() {
  return 3
}
`
    )
  })

  it("formats a file of comments only, and empty bodies holding comments", () => {
    expectFormat("# a\n\n\n# b", "# a\n\n# b\n")
    expectFormat(
      "program main() { # empty\n\n  # only a comment\n}",
      "program main() { # empty\n  # only a comment\n}\n"
    )
    expectFormat("signature S {\n  # nothing yet\n}", "signature S {\n  # nothing yet\n}\n")
  })

  it("keeps comment texts exactly, including a bare # and a # inside the text", () => {
    expectFormat(
      "program main() {\n  a = 1 #\n  #x # y  \n  return a\n}\n",
      "program main() {\n  a = 1 #\n  #x # y  \n  return a\n}\n"
    )
  })
})
