/** The optimization surface of the library: `optimize`, budgets, candidates and the optimizers' names. */
export { EvalStore } from "../store/evals.js"
export {
  type Artifact,
  ARTIFACT_KINDS,
  artifactHash,
  type ArtifactKind,
  ArtifactStore,
  layer as artifactStoreLayer
} from "./artifacts.js"
export { type Budget, parseBudget, type Usage } from "./budget.js"
export { applyCandidate, type Candidate, type SignatureSetting } from "./candidate.js"
export { OptimizeError } from "./errors.js"
export { type JobRequirements, type JobResult, readJobSpec, runJob } from "./job.js"
export { JobError, JobSpec, parseJobSpec } from "./jobSpec.js"
export {
  loadMetrics,
  optimize,
  type Optimized,
  type OptimizeReport,
  type OptimizeRequest,
  type OptimizeRequirements,
  type SplitReport
} from "./optimize.js"
export { type OptimizerName, OPTIMIZERS, type SearchSettings } from "./search.js"
export type { Trial } from "./trials.js"
