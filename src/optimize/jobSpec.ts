/**
 * A JobSpec (issue 20): an eval or an optimization written as a YAML file — the program, the datasets, the
 * metrics, the model routes (a config file and a default model), the seed and the budget — parsed with `yaml`
 * and decoded with `effect/Schema`. Bad input is a `JobError` naming the file, line and column.
 */
import { Data, Either, ParseResult, Schema } from "effect"
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { Node } from "yaml"

/** A bad job spec or a job that could not run, with where (`file:line:column` when known). */
export class JobError extends Data.TaggedError("JobError")<{
  readonly message: string
  readonly location?: string
}> {
  get display(): string {
    return this.location === undefined ? this.message : `${this.location}: ${this.message}`
  }
}

const Budget = Schema.Struct({
  calls: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), { exact: true }),
  tokens: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), { exact: true }),
  cost: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0)), { exact: true })
})

const Datasets = Schema.Struct({
  train: Schema.optionalWith(Schema.String, { exact: true }),
  dev: Schema.optionalWith(Schema.String, { exact: true }),
  test: Schema.optionalWith(Schema.String, { exact: true })
})

const Settings = Schema.Struct({
  teacherModel: Schema.optionalWith(Schema.String, { exact: true }),
  proposerModel: Schema.optionalWith(Schema.String, { exact: true }),
  maxDemos: Schema.optionalWith(Schema.Int, { exact: true }),
  candidates: Schema.optionalWith(Schema.Int, { exact: true }),
  trials: Schema.optionalWith(Schema.Int, { exact: true }),
  minibatch: Schema.optionalWith(Schema.Int, { exact: true })
})

/** The decoded spec (paths as written: relative ones are relative to the spec file). */
export const JobSpec = Schema.Struct({
  kind: Schema.Literal("eval", "optimize"),
  name: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.String,
  datasets: Datasets,
  metrics: Schema.optionalWith(Schema.Array(Schema.String), { default: () => ["exact"] }),
  model: Schema.optionalWith(Schema.String, { exact: true }),
  config: Schema.optionalWith(Schema.String, { exact: true }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 1 }),
  budget: Schema.optionalWith(Budget, { exact: true }),
  optimizer: Schema.optionalWith(Schema.Literal("bootstrap", "random", "copro", "mipro"), {
    default: () => "mipro" as const
  }),
  settings: Schema.optionalWith(Settings, { exact: true })
})
export type JobSpec = typeof JobSpec.Type

const locate = (file: string, counter: LineCounter, offset: number): string => {
  const { line, col } = counter.linePos(offset)
  return `${file}:${line}:${col}`
}

/** The node at `path`, or the deepest existing ancestor (a missing key is reported at its map). */
const nodeAt = (root: Node | null, path: ReadonlyArray<PropertyKey>): Node | null => {
  let node = root
  for (const key of path) {
    let next: unknown
    if (isMap(node)) next = node.get(key, true)
    else if (isSeq(node) && typeof key === "number") next = node.get(key, true)
    if (next === undefined || next === null || !(isMap(next) || isSeq(next) || isScalar(next))) return node
    node = next
  }
  return node
}

const KINDS_NEEDING: Record<JobSpec["kind"], ReadonlyArray<"train" | "dev" | "test">> = {
  eval: ["test"],
  optimize: ["train", "dev"]
}

/** Parses and decodes a JobSpec; every error carries `file:line:column`. */
export const parseJobSpec = (file: string, text: string): Either.Either<JobSpec, JobError> => {
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true })
  const bad = doc.errors[0]
  if (bad !== undefined) {
    return Either.left(
      new JobError({ message: bad.message.split("\n")[0]!, location: locate(file, counter, bad.pos[0]) })
    )
  }
  const at = (path: ReadonlyArray<PropertyKey>) => {
    const node = nodeAt(doc.contents, path)
    return locate(file, counter, node?.range?.[0] ?? 0)
  }
  const decoded = Schema.decodeUnknownEither(JobSpec, { onExcessProperty: "error" })(doc.toJS())
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]!
    const where = issue.path.length === 0 ? "the job" : issue.path.join(".")
    return Either.left(new JobError({ message: `${where}: ${issue.message}`, location: at(issue.path) }))
  }
  const spec = decoded.right
  for (const split of KINDS_NEEDING[spec.kind]) {
    if (spec.datasets[split] === undefined) {
      return Either.left(
        new JobError({ message: `a job of kind ${spec.kind} needs datasets.${split}`, location: at(["datasets"]) })
      )
    }
  }
  if (spec.kind === "optimize" && spec.budget === undefined) {
    return Either.left(new JobError({ message: "a job of kind optimize needs a budget", location: at([]) }))
  }
  return Either.right(spec)
}
