/** `npm run bench [-- suite…]`: runs the named benchmark suites (all when none is named). */
import { runClusterBench } from "./cluster.js"
import { runGatewayBench } from "./gateway.js"
import { runHistoryBench } from "./history.js"
import { runLanguageBench } from "./language.js"
import { runRetrievalBench } from "./retrieval.js"
import { runRuntimeBench } from "./runtime.js"
import { runServerBench } from "./server.js"
import { runTraceBench } from "./trace.js"

const suites: Record<string, () => unknown> = {
  language: runLanguageBench,
  runtime: runRuntimeBench,
  trace: runTraceBench,
  history: runHistoryBench,
  retrieval: runRetrievalBench,
  server: runServerBench,
  gateway: runGatewayBench,
  cluster: runClusterBench
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const names = wanted.length > 0 ? wanted : Object.keys(suites)
for (const name of names) {
  const suite = suites[name]
  if (suite === undefined) {
    console.error(`unknown bench suite "${name}"; known: ${Object.keys(suites).join(", ")}`)
    process.exitCode = 2
    continue
  }
  await suite()
}
