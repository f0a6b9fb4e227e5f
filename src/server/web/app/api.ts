/** The viewer's HTTP client: JSON calls with the session's API key as a bearer token (browser code). */
import type { GraphView } from "../graph.js"

const KEY = "trellis.apiKey"

/** The API key kept in session storage (empty when none). */
export const getKey = (): string => sessionStorage.getItem(KEY) ?? ""
/** Keeps (or, with "", forgets) the API key for this tab's session. */
export const setKey = (key: string): void => {
  if (key === "") sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, key)
}

/** Request headers with the key. */
export const authHeaders = (): Record<string, string> => {
  const key = getKey()
  return key === "" ? {} : { authorization: `Bearer ${key}` }
}

/** An error answer of the API (`{ _tag, message }` with its status). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly tag: string, message: string) {
    super(message)
  }
}

/** Calls the API; JSON in and out; a non-2xx answer is an `ApiError`. */
export const call = async <T>(
  path: string,
  init: { readonly method?: string; readonly body?: unknown; readonly signal?: AbortSignal } = {}
): Promise<T> => {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders() }
  if (init.body !== undefined) headers["content-type"] = "application/json"
  let response: Response
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal })
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e
    throw new ApiError(0, "NetworkError", "the server cannot be reached")
  }
  const text = await response.text()
  let body: unknown = undefined
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const b = (typeof body === "object" && body !== null ? body : {}) as { _tag?: unknown; message?: unknown }
    throw new ApiError(
      response.status,
      typeof b._tag === "string" ? b._tag : `HTTP ${response.status}`,
      typeof b.message === "string" ? b.message : `the server answered ${response.status}`
    )
  }
  return body as T
}

/** A run as `GET /v1/runs/:id` shows it. */
export interface RunView {
  readonly runId: string
  readonly status: "queued" | "running" | "completed" | "failed" | "cancelled"
  readonly output?: unknown
  readonly error?: { readonly kind: string; readonly message: string; readonly node?: string }
  readonly programHash: string
  readonly programName: string
  readonly inputs: unknown
  readonly seed: number | null
  readonly createdAt: number
  readonly updatedAt: number
  readonly endedAt: number | null
  readonly cost?: number
}

/** A page of runs. */
export interface RunPage {
  readonly runs: ReadonlyArray<RunView>
  readonly next?: string
}

/** `GET /v1/runs/:id/program`. */
export interface RunProgram {
  readonly runId: string
  readonly programHash: string
  readonly programName: string
  readonly program: unknown
  readonly graph: GraphView
}

/** `POST /v1/runs/:id/replay`. */
export interface ReplayReport {
  readonly runId: string
  readonly exact: boolean
  readonly divergence?: {
    readonly node?: string
    readonly seq?: number
    readonly expected?: string
    readonly actual?: string
  }
  readonly status: string
  readonly output?: unknown
  readonly error?: { readonly kind: string; readonly message: string }
  readonly recordedEvents: number
  readonly replayedEvents: number
}

/** Whether a run has ended. */
export const ended = (status: RunView["status"]): boolean =>
  status === "completed" || status === "failed" || status === "cancelled"

/** A metric's summary in an eval report. */
export interface MetricSummary {
  readonly metric: string
  readonly n: number
  readonly mean: number
  readonly stddev: number
  readonly ci: readonly [number, number]
  readonly failures: number
}

/** An eval report (as `trellis eval run --json` prints it last). */
export interface EvalReport {
  readonly evalId: string
  readonly n: number
  readonly metric: string
  readonly mean: number
  readonly stddev: number
  readonly ci: readonly [number, number]
  readonly errors: number
  readonly metricErrors: number
  readonly metrics: ReadonlyArray<MetricSummary>
  readonly latencyMs: { readonly mean: number | null; readonly max: number | null }
  readonly cost: { readonly total: number; readonly mean: number | null }
  readonly regression?: {
    readonly compared: number
    readonly changed: number
    readonly newFailures: number
    readonly fixed: number
  }
}

/** An eval as `GET /v1/evals/:id` shows it. */
export interface EvalView {
  readonly evalId: string
  readonly status: "running" | "completed" | "stopped" | "failed"
  readonly programHash: string
  readonly programName: string
  readonly metrics: ReadonlyArray<string>
  readonly n: number
  readonly done: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly error?: string
  readonly report?: EvalReport
}

/** One example's result (`GET /v1/evals/:id/results`). */
export interface EvalResultView {
  readonly exampleId: string
  readonly index: number
  readonly runId: string
  readonly status: string
  readonly tags: ReadonlyArray<string>
  readonly inputs: unknown
  readonly expected?: unknown
  readonly output: unknown
  readonly error?: { readonly kind: string; readonly message: string }
  readonly latencyMs: number | null
  readonly cost: number | null
  readonly scores: ReadonlyArray<number | null>
}

/** `GET /v1/evals/:id/results`. */
export interface EvalResults {
  readonly evalId: string
  readonly status: EvalView["status"]
  readonly metrics: ReadonlyArray<string>
  readonly n: number
  readonly report: EvalReport | null
  readonly results: ReadonlyArray<EvalResultView>
}

/** `GET /v1/evals/:id/compare/:candidate`. */
export interface EvalComparison {
  readonly baseline: string
  readonly candidate: string
  readonly metric: string
  readonly alpha: number
  readonly require: string
  readonly n: number
  readonly meanA: number
  readonly meanB: number
  readonly delta: number
  readonly ci: readonly [number, number]
  readonly pValue: number
  readonly signPValue: number
  readonly effectSize: number | null
  readonly wins: number
  readonly losses: number
  readonly ties: number
  readonly unpaired: number
  readonly pass: boolean
  readonly pairs: ReadonlyArray<
    { readonly exampleId: string; readonly baseline: number; readonly candidate: number; readonly diff: number }
  >
}

/** `GET /v1/evals/:id/calibration`. */
export interface EvalCalibration {
  readonly evalId: string
  readonly field: string
  readonly metric: string
  readonly n: number
  readonly skipped: number
  readonly brier: number
  readonly ece: number
  readonly svg: string
}
