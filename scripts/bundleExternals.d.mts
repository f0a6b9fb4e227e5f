/** Packages every esbuild bundle of Trellis's Node code leaves to node_modules (see bundleExternals.mjs). */
export declare const NODE_EXTERNALS: Array<string>
