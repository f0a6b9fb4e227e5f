/**
 * An in-memory `FileSystem` for tests: a read-only tree of text files given
 * as `{ "/dir/file": "text" }`. Directories are implied by the paths; a
 * missing path fails as the Node file system does (`NotFound`).
 */
import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import type { Layer } from "effect"
import { Effect, Option } from "effect"
import * as Path from "node:path"

const notFound = (method: string, path: string) =>
  new SystemError({
    reason: "NotFound",
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    description: "no such file"
  })

const info = (type: FileSystem.File.Type, size: number): FileSystem.File.Info => ({
  type,
  mtime: Option.none(),
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0,
  ino: Option.none(),
  mode: 0o644,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: FileSystem.Size(size),
  blksize: Option.none(),
  blocks: Option.none()
})

/** The `FileSystem` of the given files (absolute paths). */
export const layerMemoryFs = (files: Readonly<Record<string, string>>): Layer.Layer<FileSystem.FileSystem> => {
  const texts = new Map(Object.entries(files).map(([p, t]) => [Path.resolve(p), t]))
  const dirs = new Set<string>()
  for (const p of texts.keys()) {
    for (let d = Path.dirname(p); !dirs.has(d); d = Path.dirname(d)) {
      dirs.add(d)
      if (Path.dirname(d) === d) break
    }
  }
  const children = (dir: string, recursive: boolean): Array<string> => {
    const prefix = dir.endsWith(Path.sep) ? dir : dir + Path.sep
    return [...texts.keys(), ...dirs]
      .filter((p) => p.startsWith(prefix))
      .map((p) => p.slice(prefix.length))
      .filter((rel) => rel !== "" && (recursive || !rel.includes(Path.sep)))
  }
  const encoder = new TextEncoder()
  return FileSystem.layerNoop({
    exists: (p) => Effect.succeed(texts.has(Path.resolve(p)) || dirs.has(Path.resolve(p))),
    stat: (p) => {
      const abs = Path.resolve(p)
      const text = texts.get(abs)
      if (text !== undefined) return Effect.succeed(info("File", encoder.encode(text).byteLength))
      return dirs.has(abs) ? Effect.succeed(info("Directory", 0)) : Effect.fail(notFound("stat", p))
    },
    readDirectory: (p, options) => {
      const abs = Path.resolve(p)
      return dirs.has(abs)
        ? Effect.succeed(children(abs, options?.recursive === true))
        : Effect.fail(notFound("readDirectory", p))
    },
    readFile: (p) => {
      const text = texts.get(Path.resolve(p))
      return text === undefined ? Effect.fail(notFound("readFile", p)) : Effect.succeed(encoder.encode(text))
    },
    readFileString: (p) => {
      const text = texts.get(Path.resolve(p))
      return text === undefined ? Effect.fail(notFound("readFileString", p)) : Effect.succeed(text)
    }
  })
}
