/**
 * The library surface of rollouts (`Rollout` in the package's entry): the
 * deployment operations, the pure judges (canary, promotion rule, go-live
 * gate), the routing hash, and the `choose` planners (LinUCB, MCTS).
 */
export * as LinUcb from "../../runtime/bandit/linucb.js"
export * as Mcts from "../../runtime/bandit/mcts.js"
export { DeploymentStore } from "../../store/deployments.js"
export { CANARY_DEFAULTS, judge } from "./canary.js"
export type { CanaryVerdict, MetricEvidence, RunOutcome } from "./canary.js"
export { contextualLog, evaluateLinUcb } from "./contextual.js"
export type { ContextualRow } from "./contextual.js"
export { RolloutError } from "./errors.js"
export { deleteFlag, evaluateFlags, listFlags, putFlag } from "./flags.js"
export type { Flag } from "./flags.js"
export { evaluateMcts, planStrategies, planTarget, treeLog } from "./mctsPolicy.js"
export type { MctsEvaluation, PathOutcome } from "./mctsPolicy.js"
export { CanaryConfig, Deployment, FlagValue, PromotionRule, StickyKey, Version } from "./model.js"
export { evaluateContextual, gatePolicy } from "./policyGate.js"
export type { ContextualDecision, GateOptions, GateVerdict } from "./policyGate.js"
export { bucketOf, flagOn, routeOf } from "./routing.js"
export { checkRule } from "./rules.js"
export type { RuleCheck, RuleVerdict } from "./rules.js"
export {
  checkCanary,
  getDeployment,
  history,
  listDeployments,
  promote,
  putDeployment,
  recordRun,
  rollback,
  routeRequest,
  stickyKeyOf
} from "./service.js"
export type { CanaryCheck, DecisionEvent, DeploymentChange, PromotionResult } from "./service.js"
export { compareUnpaired } from "./unpaired.js"
