/**
 * The parser: tokens → syntax tree, by hand-written recursive descent (the
 * expressions are in `parseExpression.ts`). `parse` never throws: syntax
 * errors are collected, with recovery at statements, signature fields and
 * declarations, and capped at 100. Guards: `maxTokens` (checked before
 * parsing) and `maxDepth` (nesting of blocks, expressions and types).
 */
import type { Position, SyntaxDiagnostic } from "../ir/diagnostic.js"
import { caretExcerpt } from "../ir/diagnostic.js"
import type {
  ArgumentNode,
  BlockNode,
  ChooseOptionNode,
  ChooseStepNode,
  DeclarationNode,
  DemoNode,
  ExprNode,
  FileAst,
  IfStepNode,
  MapStepNode,
  NameNode,
  ParamNode,
  ProgramDeclNode,
  RaceStepNode,
  RecordExprNode,
  SignatureDeclNode,
  SignatureFieldNode,
  StatementNode,
  StepNode,
  StringLiteralNode,
  TypeFieldNode,
  TypeNode,
  WaitStepNode
} from "./ast.js"
import { lex } from "./lexer.js"
import { type Token, TokenKind } from "./lexToken.js"
import { parseExpression, parseKey, parseName, parseRecord, parseWord, startsExpression } from "./parseExpression.js"
import { SyntaxFailure, TokenStream } from "./tokenStream.js"

/** Options of `parse`. */
export interface ParseOptions {
  /** Refuse sources of more tokens than this, without parsing them. @default 5_000_000 */
  readonly maxTokens?: number
  /** Deepest nesting of blocks, expressions and types. @default 200 */
  readonly maxDepth?: number
}

/** What `parse` found: the tree when the source is free of syntax errors, else the errors. */
export interface ParseResult {
  readonly file: FileAst | undefined
  readonly errors: ReadonlyArray<SyntaxDiagnostic>
}

/** @default 5_000_000 */
export const DEFAULT_MAX_TOKENS = 5_000_000
/** @default 200 */
export const DEFAULT_MAX_DEPTH = 200

/** Parses a `.tr` source. Never throws; `file` is set exactly when `errors` is empty. */
export const parse = (source: string, options: ParseOptions = {}): ParseResult => {
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS
  const lexed = lex(source, { maxTokens })
  if (lexed.count > maxTokens) {
    const at = { line: 1, column: 1, offset: 0 }
    const span = { start: at, end: at }
    const message = `Program too large: ${lexed.count} tokens exceed the limit of ${maxTokens}`
    return { file: undefined, errors: [{ message, span, excerpt: caretExcerpt(source, span) }] }
  }
  const s = new TokenStream(source, lexed.tokens, options.maxDepth ?? DEFAULT_MAX_DEPTH, lexed.errors)
  let decls: ReadonlyArray<DeclarationNode>
  try {
    decls = parseDeclarations(s)
  } catch (e) {
    // Only a JS stack overflow (a `maxDepth` set beyond what the stack holds) can land here.
    const at = s.peek().span
    s.errors.push({
      message: `Nesting too deep: ${String(e instanceof Error ? e.message : e)}`,
      span: at,
      excerpt: caretExcerpt(source, at)
    })
    decls = []
  }
  const errors = [...s.errors].sort((a, b) => a.span.start.offset - b.span.start.offset)
  if (errors.length > 0) return { file: undefined, errors }
  const first = lexed.tokens[0]
  const eof = lexed.tokens[lexed.tokens.length - 1]
  const loc = {
    start: first?.span.start ?? { line: 1, column: 1, offset: 0 },
    end: eof?.span.end ?? { line: 1, column: 1, offset: 0 }
  }
  const comments = lexed.comments.map((c) => ({
    text: c.value,
    loc: c.span,
    previous: endBefore(lexed.tokens, c.span.start.offset)
  }))
  return { file: { kind: "File", decls, comments, loc }, errors: [] }
}

/** The end of the last token that starts before `offset` (binary search; `tokens` are in source order). */
const endBefore = (tokens: ReadonlyArray<Token>, offset: number): Position | undefined => {
  let lo = 0
  let hi = tokens.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (tokens[mid]!.span.start.offset < offset) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? undefined : tokens[lo - 1]!.span.end
}

/** file = decl* ;  decl = program | signature */
const parseDeclarations = (s: TokenStream): ReadonlyArray<DeclarationNode> => {
  const decls: Array<DeclarationNode> = []
  while (!s.at(TokenKind.EOF)) {
    const from = s.mark()
    try {
      if (s.atKeyword("program")) decls.push(parseProgram(s))
      else if (s.atKeyword("signature")) decls.push(parseSignature(s))
      else s.fail("\"program\" or \"signature\"")
    } catch (e) {
      if (!(e instanceof SyntaxFailure)) throw e
      if (e.fatal) break
      s.synchronizeTo(from)
    }
  }
  return decls
}

/** program = "program" IDENT "(" [ param { "," param } ] ")" block */
const parseProgram = (s: TokenStream): ProgramDeclNode => {
  const start = s.expectKeyword("program")
  let name: NameNode = { kind: "Name", value: "", loc: start.span }
  let params: ReadonlyArray<ParamNode> = []
  try {
    name = parseName(s, "program name")
    params = s.many(TokenKind.LParen, () => parseParam(s), TokenKind.RParen)
  } catch (e) {
    // A broken header: resume at the body's "{" so that its errors are reported too.
    if (!(e instanceof SyntaxFailure) || e.fatal || !s.skipToBody()) throw e
  }
  const body = parseBlock(s, false)
  return { kind: "ProgramDecl", name, params, body, loc: s.spanFrom(start) }
}

/** param = IDENT ":" type [ "=" expr ] */
const parseParam = (s: TokenStream): ParamNode => {
  const start = s.peek()
  const name = parseName(s, "parameter name")
  s.expect(TokenKind.Colon)
  const type = parseType(s)
  const def = s.expectOptional(TokenKind.Eq) === undefined ? undefined : parseExpression(s)
  return { kind: "Param", name, type, default: def, loc: s.spanFrom(start) }
}

/**
 * type = ( "string" | "number" | "boolean" | "null" | "any"
 *        | "{" [ field ":" type { "," field ":" type } ] "}" ) { "[]" }
 */
const parseType = (s: TokenStream): TypeNode =>
  s.nested(() => {
    const start = s.peek()
    let type: TypeNode
    if (s.at(TokenKind.LBrace)) {
      const fields = s.many(TokenKind.LBrace, () => parseTypeField(s), TokenKind.RBrace)
      type = s.built({ kind: "RecordType", fields, loc: s.spanFrom(start) }, ...fields.map((f) => f.type))
    } else if (start.kind === TokenKind.Keyword && start.value === "null") {
      s.advance()
      type = s.built({ kind: "NamedType", name: "null", loc: start.span })
    } else if (
      start.kind === TokenKind.Ident &&
      (start.value === "string" || start.value === "number" || start.value === "boolean" || start.value === "any")
    ) {
      s.advance()
      type = s.built({ kind: "NamedType", name: start.value, loc: start.span })
    } else {
      return s.fail("type")
    }
    while (s.at(TokenKind.LBracket) && s.peek(1).kind === TokenKind.RBracket) {
      s.advance()
      s.advance()
      type = s.built({ kind: "ListType", of: type, loc: s.spanFrom(start) }, type)
    }
    return type
  })

/** field = (IDENT | STRING) ":" type */
const parseTypeField = (s: TokenStream): TypeFieldNode => {
  const start = s.peek()
  const name = parseKey(s, "field name")
  s.expect(TokenKind.Colon)
  const type = parseType(s)
  return { kind: "TypeField", name, type, loc: s.spanFrom(start) }
}

/** signature = "signature" IDENT "{" [ STRING ] { field | demo } "}" */
const parseSignature = (s: TokenStream): SignatureDeclNode => {
  const start = s.expectKeyword("signature")
  const name = parseName(s, "signature name")
  s.expect(TokenKind.LBrace)
  const doc = parseOptionalString(s)
  const fields: Array<SignatureFieldNode> = []
  const demos: Array<DemoNode> = []
  while (!s.at(TokenKind.RBrace) && !s.at(TokenKind.EOF) && !s.atKeyword("program") && !s.atKeyword("signature")) {
    const from = s.mark()
    try {
      if (s.at(TokenKind.Ident, "demo")) demos.push(parseDemo(s))
      else fields.push(parseSignatureField(s))
    } catch (e) {
      if (!(e instanceof SyntaxFailure) || e.fatal) throw e
      s.synchronizeTo(from, ["input", "output", "}"])
    }
  }
  s.expect(TokenKind.RBrace)
  return { kind: "SignatureDecl", name, doc, fields, demos, loc: s.spanFrom(start) }
}

/** demo = "demo" "input" record "output" record   (`demo` is a word only here, not a keyword) */
const parseDemo = (s: TokenStream): DemoNode => {
  const start = s.expect(TokenKind.Ident, "demo")
  s.expectKeyword("input")
  const inputs = parseRecord(s)
  s.expectKeyword("output")
  const outputs = parseRecord(s)
  return { kind: "Demo", inputs, outputs, loc: s.spanFrom(start) }
}

/** field = ("input" | "output") IDENT ":" type [ STRING ] */
const parseSignatureField = (s: TokenStream): SignatureFieldNode => {
  const start = s.peek()
  if (!s.atKeyword("input") && !s.atKeyword("output")) s.fail("\"input\" or \"output\"")
  const direction = s.advance().value === "input" ? "input" : "output"
  const name = parseName(s, "field name")
  s.expect(TokenKind.Colon)
  const type = parseType(s)
  const doc = parseOptionalString(s)
  return { kind: "SignatureField", direction, name, type, doc, loc: s.spanFrom(start) }
}

const parseOptionalString = (s: TokenStream): StringLiteralNode | undefined => {
  const t = s.expectOptional(TokenKind.String)
  return t === undefined ? undefined : { kind: "StringLiteral", value: t.value, loc: t.span }
}

/**
 * block = "{" { stmt } "}" — a nested block (map, if, else, choose option)
 * must end in exactly one `return`; a program body may omit it.
 */
const parseBlock = (s: TokenStream, nested: boolean): BlockNode =>
  s.nested(() => {
    const start = s.expect(TokenKind.LBrace)
    const statements: Array<StatementNode> = []
    let returned = false
    let reportedAfterReturn = false
    for (;;) {
      const t = s.peek()
      if (t.kind === TokenKind.RBrace) {
        if (nested && !returned) s.reportExpected("\"return\"")
        s.advance()
        break
      }
      if (
        t.kind === TokenKind.EOF || (t.kind === TokenKind.Keyword && (t.value === "program" || t.value === "signature"))
      ) {
        s.reportExpected("\"}\"")
        break
      }
      const from = s.mark()
      try {
        const statement = parseStatement(s)
        if (returned && !reportedAfterReturn) {
          reportedAfterReturn = true
          s.report("Unexpected statement after return", statement.loc)
        }
        if (statement.kind === "ReturnStatement") returned = true
        statements.push(statement)
      } catch (e) {
        if (!(e instanceof SyntaxFailure) || e.fatal) throw e
        s.synchronize(from)
      }
    }
    return { kind: "Block", statements, loc: s.spanFrom(start) }
  })

/** stmt = IDENT "=" step | step | "return" step */
const parseStatement = (s: TokenStream): StatementNode => {
  const start = s.peek()
  if (s.atKeyword("return")) {
    s.advance()
    const step = parseStep(s)
    return { kind: "ReturnStatement", step, loc: s.spanFrom(start) }
  }
  if (start.kind === TokenKind.Ident && s.peek(1).kind === TokenKind.Eq) {
    const name = parseName(s)
    s.advance()
    const step = parseStep(s)
    return { kind: "StepStatement", name, step, loc: s.spanFrom(start) }
  }
  if (!startsStep(s)) s.fail("statement")
  const step = parseStep(s)
  return { kind: "StepStatement", name: undefined, step, loc: s.spanFrom(start) }
}

const STEP_KEYWORDS: ReadonlySet<string> = new Set(["tool", "llm", "run", "map", "if", "choose", "race", "wait"])

const startsStep = (s: TokenStream): boolean => {
  const t = s.peek()
  return (t.kind === TokenKind.Keyword && STEP_KEYWORDS.has(t.value)) || startsExpression(t)
}

/**
 * step = "tool" DOTTED "(" [ args ] ")" [ policy ] | "llm" IDENT "(" [ args ] ")" [ policy ]
 *      | "run" IDENT "(" [ args ] ")" [ policy ] | "map" IDENT "in" expr [ policy ] block
 *      | "if" expr [ policy ] block [ "else" ( block | step ) ]
 *      | "choose" STRING [ policy ] "{" option { option } "}" | "race" [ policy ] "{" option { option } "}"
 *      | "wait" [ STRING ] [ ":" type ] [ record | "(" expr ")" ] [ "for" STRING ] [ policy ] | expr [ policy ]
 */
const parseStep = (s: TokenStream): StepNode => {
  const start = s.peek()
  if (start.kind === TokenKind.Keyword) {
    switch (start.value) {
      case "tool": {
        s.advance()
        const tool = parseDotted(s)
        const args = parseArguments(s)
        const policy = parsePolicy(s)
        return { kind: "ToolStep", tool, args, policy, loc: s.spanFrom(start) }
      }
      case "llm": {
        s.advance()
        const signature = parseName(s, "signature name")
        const args = parseArguments(s)
        const policy = parsePolicy(s)
        return { kind: "LlmStep", signature, args, policy, loc: s.spanFrom(start) }
      }
      case "run": {
        s.advance()
        const program = parseName(s, "program name")
        const args = parseArguments(s)
        const policy = parsePolicy(s)
        return { kind: "RunStep", program, args, policy, loc: s.spanFrom(start) }
      }
      case "map":
        return parseMap(s)
      case "if":
        return parseIf(s)
      case "choose":
        return parseChoose(s)
      case "race":
        return parseRace(s)
      case "wait":
        return parseWait(s)
      default:
        break
    }
  }
  const expr = parseExpression(s)
  const policy = parsePolicy(s)
  return { kind: "ExprStep", expr, policy, loc: s.spanFrom(start) }
}

/** DOTTED = IDENT { "." WORD } */
const parseDotted = (s: TokenStream): NameNode => {
  const first = parseName(s, "tool name")
  let value = first.value
  while (s.expectOptional(TokenKind.Dot) !== undefined) value += "." + parseWord(s, "tool name").value
  return { kind: "Name", value, loc: s.spanFrom(first.loc.start) }
}

/** args = "(" [ IDENT ":" expr { "," IDENT ":" expr } ] ")" */
const parseArguments = (s: TokenStream): ReadonlyArray<ArgumentNode> =>
  s.many(
    TokenKind.LParen,
    (): ArgumentNode => {
      const start = s.peek()
      const name = parseName(s, "argument name")
      s.expect(TokenKind.Colon)
      const value = parseExpression(s)
      return { kind: "Argument", name, value, loc: s.spanFrom(start) }
    },
    TokenKind.RParen
  )

/** policy = "with" record */
const parsePolicy = (s: TokenStream): RecordExprNode | undefined =>
  s.expectOptional(TokenKind.Keyword, "with") === undefined ? undefined : parseRecord(s)

/** "map" IDENT "in" expr [ policy ] block */
const parseMap = (s: TokenStream): MapStepNode => {
  const start = s.expectKeyword("map")
  const binder = parseName(s, "binder name")
  s.expectKeyword("in")
  const over = parseExpression(s)
  const policy = parsePolicy(s)
  const body = parseBlock(s, true)
  return { kind: "MapStep", binder, over, policy, body, loc: s.spanFrom(start) }
}

/** "if" expr [ policy ] block [ "else" ( block | step ) ] */
const parseIf = (s: TokenStream): IfStepNode =>
  s.nested(() => {
    const start = s.expectKeyword("if")
    const cond = parseExpression(s)
    const policy = parsePolicy(s)
    const then = parseBlock(s, true)
    let otherwise: BlockNode | StepNode | undefined
    if (s.expectOptional(TokenKind.Keyword, "else") !== undefined) {
      otherwise = s.at(TokenKind.LBrace) ? parseBlock(s, true) : parseStep(s)
    }
    return { kind: "IfStep", cond, policy, then, else: otherwise, loc: s.spanFrom(start) }
  })

/** "choose" STRING [ policy ] "{" option { option } "}" */
const parseChoose = (s: TokenStream): ChooseStepNode => {
  const start = s.expectKeyword("choose")
  const keyToken = s.expect(TokenKind.String)
  const key: StringLiteralNode = { kind: "StringLiteral", value: keyToken.value, loc: keyToken.span }
  const policy = parsePolicy(s)
  s.expect(TokenKind.LBrace)
  const options: Array<ChooseOptionNode> = [parseChooseOption(s)]
  while (!s.at(TokenKind.RBrace)) options.push(parseChooseOption(s))
  s.advance()
  return { kind: "ChooseStep", key, policy, options, loc: s.spanFrom(start) }
}

/** "race" [ policy ] "{" option { option } "}" */
const parseRace = (s: TokenStream): RaceStepNode => {
  const start = s.expectKeyword("race")
  const policy = parsePolicy(s)
  s.expect(TokenKind.LBrace)
  const options: Array<ChooseOptionNode> = [parseChooseOption(s)]
  while (!s.at(TokenKind.RBrace)) options.push(parseChooseOption(s))
  s.advance()
  return { kind: "RaceStep", policy, options, loc: s.spanFrom(start) }
}

/** "wait" [ STRING ] [ ":" type ] [ record | "(" expr ")" ] [ "for" STRING ] [ policy ] */
const parseWait = (s: TokenStream): WaitStepNode => {
  const start = s.expectKeyword("wait")
  const stringLiteral = (): StringLiteralNode => {
    const t = s.expect(TokenKind.String)
    return { kind: "StringLiteral", value: t.value, loc: t.span }
  }
  const signal = s.at(TokenKind.String) ? stringLiteral() : undefined
  const answer = s.expectOptional(TokenKind.Colon) === undefined ? undefined : parseType(s)
  let payload: ExprNode | undefined
  if (s.at(TokenKind.LBrace)) payload = parseRecord(s)
  else if (s.at(TokenKind.LParen)) {
    const open = s.advance()
    const expr = parseExpression(s)
    s.expect(TokenKind.RParen)
    payload = { kind: "ParenExpr", expr, loc: s.spanFrom(open) }
  }
  let duration: StringLiteralNode | undefined
  if (s.at(TokenKind.Ident, "for") && s.peek(1).kind === TokenKind.String) {
    s.advance()
    duration = stringLiteral()
  }
  const policy = parsePolicy(s)
  return { kind: "WaitStep", signal, answer, payload, for: duration, policy, loc: s.spanFrom(start) }
}

/** option = (IDENT | STRING) ":" block */
const parseChooseOption = (s: TokenStream): ChooseOptionNode => {
  const start = s.peek()
  const label = parseKey(s, "option label")
  s.expect(TokenKind.Colon)
  const body = parseBlock(s, true)
  return { kind: "ChooseOption", label, body, loc: s.spanFrom(start) }
}
