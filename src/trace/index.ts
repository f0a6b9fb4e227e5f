/**
 * Traces (SPEC §5), as the library exports them: the event classes and
 * union, the reducer, the summary monoid and JSONL trace files.
 */
export * from "./events.js"
export { StoreError } from "./errors.js"
export { fold, foldAll, initialState, isFinished } from "./fold.js"
export type { NodeState, NodeStatus, RunState } from "./fold.js"
export { combine, empty, summarize } from "./summary.js"
export type { Summary } from "./summary.js"
export { fromJsonl, JsonlError, toJsonl } from "./jsonl.js"
