/**
 * The one setting for how many cases the laws run (docs/testing.md). Every law asks `numRuns(base)`: `base` is
 * `LAW_CASES` (1,000) for every law cheap enough, less for the laws whose single case costs milliseconds
 * (documented next to them). `TRELLIS_LAWS_MULTIPLIER` (a positive number, default 1) multiplies every count for a
 * deeper soak run: `TRELLIS_LAWS_MULTIPLIER=10 npm run laws`.
 */
import { Config, ConfigProvider, Effect } from "effect"

/** The case count of every law cheap enough to run it. */
export const LAW_CASES = 1000

/** `TRELLIS_LAWS_MULTIPLIER`, read once; a value that is not a positive number fails with a ConfigError. */
export const lawsMultiplier: number = Effect.runSync(
  Config.number("TRELLIS_LAWS_MULTIPLIER").pipe(
    Config.withDefault(1),
    Config.validate({ message: "TRELLIS_LAWS_MULTIPLIER must be a positive number", validation: (n) => n > 0 }),
    Effect.withConfigProvider(ConfigProvider.fromEnv())
  )
)

/** The number of cases for a law whose default is `base`: `base × TRELLIS_LAWS_MULTIPLIER`, at least 1. */
export const numRuns = (base: number): number => Math.max(1, Math.round(base * lawsMultiplier))
