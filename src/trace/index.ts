/**
 * Traces (SPEC §5), as the library exports them: the event classes and
 * union, the reducer, the summary monoid and JSONL trace files.
 */
export { StoreError } from "./errors.js"
export * from "./events.js"
export { fold, foldAll, initialState, isFinished } from "./fold.js"
export type { NodeState, NodeStatus, RunState } from "./fold.js"
export { fromJsonl, JsonlError, toJsonl } from "./jsonl.js"
export { combine, empty, summarize } from "./summary.js"
export type { Summary } from "./summary.js"
