/**
 * Authentication of the HTTP API: `Authorization: Bearer <key>` resolves to
 * the caller's workspace (`CurrentWorkspace`), or 401. Declared here (the
 * API value), implemented in `handlers/auth.ts`.
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context } from "effect"
import type { Quotas } from "../config.js"
import { Unauthorized } from "./errors.js"

/** The workspace of the request. */
export class CurrentWorkspace extends Context.Tag("trellis/CurrentWorkspace")<
  CurrentWorkspace,
  { readonly name: string; readonly quotas: Quotas }
>() {}

/** Bearer-key authentication, giving every authenticated endpoint its `CurrentWorkspace`. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("trellis/Authorization", {
  failure: Unauthorized,
  provides: CurrentWorkspace,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
