/**
 * The store's public surface: `Store` (the layers of every store service
 * over PGlite or PostgreSQL), the schema's `migrate`, and the SQL client
 * layers and backend helpers of `sql.ts`.
 */
export * as Store from "./layer.js"
export { migrate, migrations, MIGRATIONS_TABLE } from "./migrations.js"
export { backendFromEnv, Database, layerFromEnv as layerSqlFromEnv, MEMORY, trellisHome } from "./sql.js"
export type { Backend } from "./sql.js"
