/**
 * Comments for `fmt`: `attachComments(file, sourceMap)` gives every `#`
 * comment of a parsed file a place in the IR, by JSON pointer, so that
 * `print(program, { comments })` can print it back. The places:
 *
 * - **Elements** are what the printer prints on lines of their own: the
 *   declarations (`/programs/P`, `/signatures/S`), params (`…/params/i`),
 *   a signature's doc (`…/doc`) and fields (`…/inputs/i`, `…/outputs/i`),
 *   statements (`…/nodes/i`; a `return` statement is `…/result`), and
 *   choose options (`…/options/i`).
 * - **Lists** are where elements sit, each with a closing bracket: the file
 *   (`""`), a params list (`…/params`), a signature (`/signatures/S`), a
 *   body (the program's pointer, `…/body`, `…/then`, `…/else`,
 *   `…/options/i/body`) and the options of a choose (`…/options`).
 *
 * A comment alone on its line goes to the innermost list around it: it is a
 * *leading* comment of the next element of that list, or an *end* comment of
 * the list when no element follows (printed before its closing bracket, or
 * at the end of the file). A comment inside an element but in none of its
 * lists — inside an expression, a record, a policy, a type, between `}` and
 * `else` — is moved to the leading comments of that element.
 *
 * A comment at the end of a line goes to the innermost element holding the
 * token before it (a param holds the comma after it). It is that element's
 * *trailing* comment, printed at the end of the element's first printed line;
 * when an element collects several (a statement spread over lines), the first
 * stays trailing and the others become leading comments, in source order.
 *
 * Blank lines are kept too, at most one where the source had one or more:
 * before a comment, and before an element of a body, signature, option list
 * or the file (never inside a params list, and never right after an opening
 * bracket). Programs are always one blank line apart.
 *
 * The invariant that makes `fmt` idempotent: every place the printer puts a
 * comment (or a blank line) is a place that `attachComments` maps back to the
 * same pointer.
 */
import type { SourceMap, Span } from "../ir/diagnostic.js"
import type { BlockNode, CommentNode, FileAst, StatementNode, StepNode } from "./ast.js"
import { IrPath } from "./lowerContext.js"

/** A comment as printed on its own line: its text (without `#`) and whether a blank line comes before it. */
export interface PrintedComment {
  readonly text: string
  readonly blankBefore: boolean
}

/** What is printed around one IR element or list. */
export interface CommentSlot {
  /** Own-line comments printed before the element, in order. */
  readonly leading: ReadonlyArray<PrintedComment>
  /** A comment printed at the end of the element's first line. */
  readonly trailing: string | undefined
  /** Own-line comments printed after the list's last element, before its closing bracket. */
  readonly end: ReadonlyArray<PrintedComment>
  /** A blank line between the leading comments (or the element before) and the element. */
  readonly blankBefore: boolean
}

/** JSON pointer → what is printed around that element or list. Pointers without a slot get nothing. */
export type CommentMap = ReadonlyMap<string, CommentSlot>

/** A slot with nothing in it. */
export const EMPTY_SLOT: CommentSlot = { leading: [], trailing: undefined, end: [], blankBefore: false }

// ---------------------------------------------------------------------------
// The layout tree: elements and lists, with their pointers and extents
// ---------------------------------------------------------------------------

interface Element {
  readonly pointer: string
  readonly loc: Span
  /** Where the element stops holding tokens for end-of-line comments (a param reaches up to the next one). */
  readonly reach: number
  readonly lists: ReadonlyArray<List>
}

interface List {
  readonly pointer: string
  /** The offsets the list covers, half-open. */
  readonly start: number
  readonly end: number
  /** In source order. */
  readonly elements: ReadonlyArray<Element>
  /** Declarations left out of `elements` (duplicates), whose lines still separate the others. */
  readonly dropped: ReadonlyArray<Span>
}

const element = (pointer: IrPath, loc: Span, lists: ReadonlyArray<List> = []): Element => ({
  pointer: pointer.pointer,
  loc,
  reach: loc.end.offset,
  lists
})

const list = (
  pointer: IrPath,
  start: number,
  end: number,
  elements: ReadonlyArray<Element>,
  dropped: ReadonlyArray<Span> = []
): List => ({
  pointer: pointer.pointer,
  start,
  end,
  elements,
  dropped
})

/** The file's tree; a declaration that lowering dropped as a duplicate is left out (its comments go around it). */
const fileTree = (file: FileAst, sourceMap: SourceMap): List => {
  const decls: Array<Element> = []
  const dropped: Array<Span> = []
  for (const decl of file.decls) {
    const path = IrPath.root.child(decl.kind === "ProgramDecl" ? "programs" : "signatures").child(decl.name.value)
    if (sourceMap.get(path.pointer)?.start.offset !== decl.loc.start.offset) {
      dropped.push(decl.loc)
      continue
    }
    if (decl.kind === "SignatureDecl") {
      const fields: Array<Element> = []
      if (decl.doc !== undefined) fields.push(element(path.child("doc"), decl.doc.loc))
      let inputs = 0
      let outputs = 0
      for (const f of decl.fields) {
        const fieldPath = f.direction === "input"
          ? path.child("inputs").child(inputs++)
          : path.child("outputs").child(outputs++)
        fields.push(element(fieldPath, f.loc))
      }
      decls.push(element(path, decl.loc, [list(path, decl.loc.start.offset, decl.loc.end.offset, fields)]))
      continue
    }
    const params = decl.params.map((p, i): Element => {
      const next = decl.params[i + 1]
      return {
        ...element(path.child("params").child(i), p.loc),
        reach: next === undefined ? p.loc.end.offset : next.loc.start.offset
      }
    })
    decls.push(
      element(path, decl.loc, [
        list(path.child("params"), decl.loc.start.offset, decl.body.loc.start.offset, params),
        blockList(decl.body, path)
      ])
    )
  }
  return list(IrPath.root, 0, Infinity, decls, dropped)
}

/** The statements of a block whose IR body is at `path`, numbered as lowering numbers them. */
const blockList = (block: BlockNode, path: IrPath): List =>
  list(path, block.loc.start.offset, block.loc.end.offset, statements(block.statements, path))

const statements = (statements: ReadonlyArray<StatementNode>, path: IrPath): ReadonlyArray<Element> => {
  let nodes = 0
  return statements.map((statement) => {
    if (statement.kind === "StepStatement") {
      const nodePath = path.child("nodes").child(nodes++)
      return element(nodePath, statement.loc, stepLists(statement.step, nodePath))
    }
    // `return <step>` lowers to a node (numbered next) returned by ref; `return <expr>` to the result only.
    return element(path.child("result"), statement.loc, stepLists(statement.step, path.child("nodes").child(nodes)))
  })
}

/** The lists nested in a step lowered to the node at `path`. */
const stepLists = (step: StepNode, path: IrPath): ReadonlyArray<List> => {
  switch (step.kind) {
    case "MapStep":
      return [blockList(step.body, path.child("body"))]
    case "IfStep": {
      const then = blockList(step.then, path.child("then"))
      const otherwise = step.else
      if (otherwise === undefined) return [then]
      if (otherwise.kind === "Block") return [then, blockList(otherwise, path.child("else"))]
      // `else <step>` lowers to an else body holding that step, returned.
      const elsePath = path.child("else")
      const only = element(
        elsePath.child("result"),
        otherwise.loc,
        stepLists(otherwise, elsePath.child("nodes").child(0))
      )
      return [then, list(elsePath, otherwise.loc.start.offset, otherwise.loc.end.offset, [only])]
    }
    case "ChooseStep":
    case "RaceStep": {
      const optionsPath = path.child("options")
      const options = step.options.map((o, i) => {
        const optionPath = optionsPath.child(i)
        return element(optionPath, o.loc, [blockList(o.body, optionPath.child("body"))])
      })
      return [list(optionsPath, step.loc.start.offset, step.loc.end.offset, options)]
    }
    case "ToolStep":
    case "LlmStep":
    case "RunStep":
    case "ExprStep":
    case "WaitStep":
      return []
  }
}

// ---------------------------------------------------------------------------
// Placing comments
// ---------------------------------------------------------------------------

/** The index of the last element (in source order) that starts at or before `offset`, or -1. */
const lastStartingBy = (elements: ReadonlyArray<Element>, offset: number): number => {
  let lo = 0
  let hi = elements.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (elements[mid]!.loc.start.offset <= offset) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

const listAt = (e: Element, offset: number): List | undefined =>
  e.lists.find((l) => l.start <= offset && offset < l.end)

/** Where a comment alone on its line goes. */
type OwnLinePlace =
  | { readonly kind: "before" | "inside"; readonly element: Element }
  | { readonly kind: "end"; readonly list: List }

const placeOwnLine = (root: List, offset: number): OwnLinePlace => {
  let l = root
  for (;;) {
    const i = lastStartingBy(l.elements, offset)
    const holder = l.elements[i]
    if (holder !== undefined && offset < holder.loc.end.offset) {
      const inner = listAt(holder, offset)
      if (inner === undefined) return { kind: "inside", element: holder }
      l = inner
      continue
    }
    const next = l.elements[i + 1]
    return next === undefined ? { kind: "end", list: l } : { kind: "before", element: next }
  }
}

/** The innermost element holding the token that ends at `offset` (exclusive), for an end-of-line comment. */
const placeEndOfLine = (root: List, offset: number): Element | undefined => {
  const at = offset - 1
  let l: List | undefined = root
  let found: Element | undefined
  while (l !== undefined) {
    const holder: Element | undefined = l.elements[lastStartingBy(l.elements, at)]
    if (holder === undefined || at >= holder.reach) break
    found = holder
    l = listAt(holder, at)
  }
  return found
}

/** The index of the last comment (in source order) that starts before `offset`, or -1. */
const lastCommentBefore = (comments: ReadonlyArray<CommentNode>, offset: number): number => {
  let lo = 0
  let hi = comments.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (comments[mid]!.loc.start.offset < offset) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

// ---------------------------------------------------------------------------
// Assembling the slots
// ---------------------------------------------------------------------------

interface Draft {
  readonly before: Array<PrintedComment>
  /** Comments moved in from inside the element, and end-of-line comments, in source order. */
  readonly inside: Array<{ readonly text: string; readonly blankBefore: boolean; readonly endOfLine: boolean }>
  readonly end: Array<PrintedComment>
  blankBefore: boolean
}

/**
 * Assigns every comment of `file` to an IR location (see the module doc).
 * `sourceMap` is the one lowering produced for `file`; it tells which
 * declarations lowering kept.
 */
export const attachComments = (file: FileAst, sourceMap: SourceMap): CommentMap => {
  const root = fileTree(file, sourceMap)
  const drafts = new Map<string, Draft>()
  const draft = (pointer: string): Draft => {
    let d = drafts.get(pointer)
    if (d === undefined) {
      d = { before: [], inside: [], end: [], blankBefore: false }
      drafts.set(pointer, d)
    }
    return d
  }

  // The last line holding a token or a comment, before each comment: a gap of 2 or more is a blank line.
  let previousComment: CommentNode | undefined
  const comments = [...file.comments].sort((a, b) => a.loc.start.offset - b.loc.start.offset)
  for (const c of comments) {
    const lastLine = Math.max(c.previous?.line ?? 0, previousComment?.loc.end.line ?? 0)
    const blankBefore = lastLine > 0 && c.loc.start.line - lastLine >= 2
    previousComment = c
    const previous = c.previous
    const owner = previous !== undefined && previous.line === c.loc.start.line
      ? placeEndOfLine(root, previous.offset)
      : undefined
    if (owner !== undefined) {
      draft(owner.pointer).inside.push({ text: c.text, blankBefore: false, endOfLine: true })
      continue
    }
    const place = placeOwnLine(root, c.loc.start.offset)
    switch (place.kind) {
      case "before":
        draft(place.element.pointer).before.push({ text: c.text, blankBefore })
        break
      case "inside":
        draft(place.element.pointer).inside.push({ text: c.text, blankBefore, endOfLine: false })
        break
      case "end":
        draft(place.list.pointer).end.push({ text: c.text, blankBefore })
        break
    }
  }

  // Blank lines before elements: after the previous element or the last comment in between (the first
  // element of a list only counts comments, as a blank line right after an opening bracket is not kept).
  const markBlankLines = (l: List): void => {
    let previousEnd: Span["end"] | undefined
    for (const e of l.elements) {
      const from = previousEnd?.offset ?? l.start
      const lastComment = comments[lastCommentBefore(comments, e.loc.start.offset)]
      const commentLine = lastComment === undefined || lastComment.loc.start.offset < from
        ? 0
        : lastComment.loc.end.line
      const droppedLine = Math.max(
        0,
        ...l.dropped.filter((d) => d.end.offset <= e.loc.start.offset).map((d) => d.end.line)
      )
      const lastLine = Math.max(previousEnd?.line ?? 0, commentLine, droppedLine)
      if (lastLine > 0 && e.loc.start.line - lastLine >= 2) draft(e.pointer).blankBefore = true
      previousEnd = e.loc.end
      for (const inner of e.lists) markBlankLines(inner)
    }
  }
  markBlankLines(root)

  const out = new Map<string, CommentSlot>()
  for (const [pointer, d] of drafts) {
    const trailingAt = d.inside.findIndex((x) => x.endOfLine)
    const moved = d.inside.filter((_, i) => i !== trailingAt)
    // The blank line before the element goes before the comments moved in front of it.
    const leading = [
      ...d.before,
      ...moved.map((x, i): PrintedComment => ({ text: x.text, blankBefore: i === 0 ? d.blankBefore : x.blankBefore }))
    ]
    out.set(pointer, {
      leading,
      trailing: trailingAt < 0 ? undefined : d.inside[trailingAt]!.text,
      end: d.end,
      blankBefore: moved.length === 0 && d.blankBefore
    })
  }
  return out
}
