/**
 * Settings for tests without touching `process.env`: a `ConfigProvider` over
 * a plain map of variables, as a provider or as a layer.
 */
import { ConfigProvider, Layer } from "effect"

/** A `ConfigProvider` reading the given variables only (names as in the environment). */
export const settingsFrom = (env: Readonly<Record<string, string>>): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromMap(new Map(Object.entries(env)))

/** A layer that makes `settingsFrom(env)` the config provider of what it is provided to. */
export const layerSettings = (env: Readonly<Record<string, string>>): Layer.Layer<never> =>
  Layer.setConfigProvider(settingsFrom(env))
