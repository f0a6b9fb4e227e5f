/** `ServerContext`: what handlers need to know about the server they run in (its config, version, live gauges). */
import { Context } from "effect"
import type { ServerConfig } from "./config.js"

/** The version the server reports. */
export const VERSION = "0.1.0"

/** The server's configuration and gauges. */
export class ServerContext extends Context.Tag("trellis/ServerContext")<ServerContext, {
  readonly config: ServerConfig
  /** SSE streams open right now (a disconnecting client decrements it). */
  readonly sse: { clients: number }
}>() {}
