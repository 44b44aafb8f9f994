// Runs leveros_checks.mjs in Node with the `leveros` package as installed by npm.
//   node [--experimental-websocket] leveros_node.mjs <dir with node_modules/leveros> <HOST:PORT>
// Prints one line of JSON: the checks' results, or {"error"} when the harness breaks.
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { checks } from './leveros_checks.mjs'

const [dir, host] = process.argv.slice(2)
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n')
try {
  // Resolve `leveros` as a program in `dir` would (its node_modules), then import it.
  const require = createRequire(join(dir, 'package.json'))
  const entry = require.resolve('leveros')
  const leveros = (await import(pathToFileURL(entry).href)).default
  emit({ entry, results: await checks(leveros, host) })
} catch (e) {
  emit({ error: e.stack || String(e) })
  process.exit(1)
}
