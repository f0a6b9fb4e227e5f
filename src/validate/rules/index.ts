/**
 * The rules `validate` runs, in order (V1–V10, and the demos check). Each lives in its own file.
 */
import type { ValidationRule } from "../ruleContext.js"
import { DemosRule } from "./DemosRule.js"
import { FanInRule } from "./FanInRule.js"
import { KnownProgramsRule } from "./KnownProgramsRule.js"
import { KnownSignaturesRule } from "./KnownSignaturesRule.js"
import { KnownToolsRule } from "./KnownToolsRule.js"
import { LimitsRule } from "./LimitsRule.js"
import { NoCyclesRule } from "./NoCyclesRule.js"
import { NoRecursiveCallsRule } from "./NoRecursiveCallsRule.js"
import { NoUnboundRefsRule } from "./NoUnboundRefsRule.js"
import { PoliciesRule } from "./PoliciesRule.js"
import { TypesAgreeRule } from "./TypesAgreeRule.js"
import { UniqueNamesRule } from "./UniqueNamesRule.js"
import { WaitsRule } from "./WaitsRule.js"

/** Every rule, in the order their events are dispatched. */
export const specifiedRules: ReadonlyArray<ValidationRule> = [
  NoUnboundRefsRule,
  NoCyclesRule,
  UniqueNamesRule,
  KnownToolsRule,
  KnownSignaturesRule,
  KnownProgramsRule,
  TypesAgreeRule,
  PoliciesRule,
  WaitsRule,
  NoRecursiveCallsRule,
  LimitsRule,
  FanInRule,
  DemosRule
]
