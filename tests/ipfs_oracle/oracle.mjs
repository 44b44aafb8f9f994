// CID oracle for leither's ipfs module: imports a file or a directory tree with the independent
// JavaScript UnixFS importer (ipfs-unixfs-importer@17) set up the way kubo's `ipfs add` is, and
// prints the root CID. Nothing is written anywhere: the blocks go to a memory blockstore.
//
//   node oracle.mjs [options] PATH
//     --cid-version=0|1     default 0 (kubo); 1 implies raw leaves, as in kubo
//     --raw-leaves[=true|false]
//     --chunker=size-N      default size-262144
//     --trickle             trickle layout (kubo: leaves are UnixFS "raw" nodes, no single-leaf
//                           reduction); default balanced with 174 links per node
//     --hamt-threshold-rule=above|at-or-above
//                           shard a directory whose estimate (names + CIDs) is above 262144
//                           bytes (default: the importer's own `>`, as current boxo), or at or
//                           above it (go-unixfs `>=`, kubo up to 0.39): given as a threshold
//                           one byte lower, since the JS importer always compares with `>`
//     -w                    wrap in a directory (PATH's base name becomes the entry name)
//     --blocks              also print every block as "<cid> <size>" after the root
//
// PATH may be a file or a directory (imported recursively, like `ipfs add -r`).
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'
import * as fs from 'node:fs'
import * as path from 'node:path'

function usage (msg) {
  process.stderr.write(`oracle: ${msg}\nusage: node oracle.mjs [--cid-version=0|1] [--raw-leaves[=bool]] [--chunker=size-N] [--trickle] [--hamt-threshold-rule=above|at-or-above] [-w] [--blocks] PATH\n`)
  process.exit(2)
}

let cidVersion = 0
let rawLeaves
let chunkSize = 262144
let layoutName = 'balanced'
let wrap = false
let shardSplitThresholdBytes = 262144
let listBlocks = false
let target
for (const arg of process.argv.slice(2)) {
  const [k, v] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
  if (k === '--cid-version') cidVersion = Number(v)
  else if (k === '--raw-leaves') rawLeaves = v === undefined || v === 'true'
  else if (k === '--chunker') {
    const m = /^size-(\d+)$/.exec(v ?? '')
    if (m == null) usage(`unsupported chunker ${v}`)
    chunkSize = Number(m[1])
  } else if (k === '--hamt-threshold-rule') {
    if (v === 'above') shardSplitThresholdBytes = 262144
    else if (v === 'at-or-above') shardSplitThresholdBytes = 262143
    else usage(`unsupported HAMT threshold rule ${v}`)
  } else if (k === '--trickle') layoutName = 'trickle'
  else if (k === '-r') { // directories are always imported recursively
  } else if (k === '-w') wrap = true
  else if (k === '--blocks') listBlocks = true
  else if (k.startsWith('-')) usage(`unknown option ${arg}`)
  else if (target === undefined) target = arg
  else usage('only one PATH')
}
if (target === undefined) usage('PATH missing')
if (cidVersion !== 0 && cidVersion !== 1) usage('cid version must be 0 or 1')
// kubo: --cid-version=1 turns raw leaves on unless --raw-leaves=false was given.
if (rawLeaves === undefined) rawLeaves = cidVersion === 1

const trickleLayout = layoutName === 'trickle'
const options = {
  cidVersion,
  rawLeaves,
  chunker: fixedSize({ chunkSize }),
  layout: trickleLayout ? trickle({ maxChildrenPerNode: 174, layerRepeat: 4 }) : balanced({ maxChildrenPerNode: 174 }),
  // go-unixfs makes balanced leaves UnixFS "file" nodes and trickle leaves "raw" nodes, and its
  // trickle root is always an internal node, even over a single chunk.
  leafType: trickleLayout ? 'raw' : 'file',
  reduceSingleLeafToSelf: !trickleLayout,
  wrapWithDirectory: wrap,
  shardSplitThresholdBytes,
  shardSplitStrategy: 'links-bytes'
}

function * candidates (abs, rel) {
  const st = fs.statSync(abs)
  if (st.isDirectory()) {
    const names = fs.readdirSync(abs).sort()
    if (names.length === 0) yield { path: rel }
    for (const name of names) yield * candidates(path.join(abs, name), `${rel}/${name}`)
  } else {
    yield { path: rel, content: fs.createReadStream(abs) }
  }
}

const blockstore = new MemoryBlockstore()
const abs = path.resolve(target)
let last
for await (const entry of importer(candidates(abs, path.basename(abs)), blockstore, options)) {
  last = entry
}
if (last === undefined) usage('nothing imported')
process.stdout.write(`${last.cid.toString()}\n`)
if (listBlocks) {
  for await (const { cid, block } of blockstore.getAll()) {
    process.stdout.write(`${cid.toString()} ${block.length}\n`)
  }
}
