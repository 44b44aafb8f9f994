// helia_node.mjs: a helia node (js-libp2p tcp + noise + yamux, identify, ping, kad-dht, bitswap)
// listening on /ip4/127.0.0.1/tcp/0, offline: no delegated routers, gateways, bootstrap or mDNS.
// Prints {"ready":true,"peer":...,"addrs":[...]} first, then answers one JSON command per stdin
// line with one JSON line on stdout, in order:
//   {"cmd":"addrs"}                        -> {"addrs":[".../p2p/..."]}
//   {"cmd":"add","path":FILE}              -> {"cid":"Qm..."}   (kubo `ipfs add` defaults)
//   {"cmd":"dial","addr":MULTIADDR}        -> {"ok":true}
//   {"cmd":"peers"}                        -> {"peers":["MULTIADDR/p2p/PEER", ...]}
//   {"cmd":"cat","cid":CID,"timeout_ms":N} -> {"sha256":HEX,"size":N,"ms":N} (over bitswap)
//   {"cmd":"quit"}                         -> {"ok":true}, then exits 0
// A failed command answers {"error":"..."} and the node goes on. The node exits 1 after
// INTEROP_TIMEOUT_MS (default 120 s) or when stdin closes (exit 0): a test that dies does not
// leave it behind.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { createHeliaLight } from 'helia'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { baseLibp2p, deadline, describe, emit, fail } from './lib.mjs'

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 120_000)

/** kubo's `ipfs add` defaults, so the CID equals the one `ipfs add` (and ours) gives. */
export const KUBO_ADD = {
  cidVersion: 0,
  rawLeaves: false,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

deadline(TIMEOUT_MS, 'helia_node')

const libp2p = baseLibp2p(['/ip4/127.0.0.1/tcp/0'])
libp2p.services.dht = kadDHT({
  protocol: '/ipfs/kad/1.0.0',
  clientMode: false,
  allowQueryWithZeroPeers: true,
  // keep loopback addresses in the routing table: this network is 127.0.0.1 only
  peerInfoMapper: passthroughMapper
})

let helia
try {
  const datastore = new MemoryDatastore()
  helia = withBitswap(withLibp2pLight(createHeliaLight({
    blockstore: new MemoryBlockstore(),
    datastore
  }), { ...libp2p, datastore }))
  await helia.start()
} catch (err) {
  fail(`cannot start helia: ${describe(err)}`)
}
const fs = unixfs(helia)

function addrs () {
  return helia.libp2p.getMultiaddrs().map(a => a.toString())
}

emit({ ready: true, peer: helia.libp2p.peerId.toString(), addrs: addrs() })

async function run (req) {
  switch (req.cmd) {
    case 'addrs':
      return { addrs: addrs() }
    case 'add': {
      const bytes = await readFile(req.path)
      const cid = await fs.addBytes(bytes, KUBO_ADD)
      return { cid: cid.toString() }
    }
    case 'dial': {
      await helia.libp2p.dial(multiaddr(req.addr), {
        signal: AbortSignal.timeout(req.timeout_ms ?? 20_000)
      })
      return { ok: true }
    }
    case 'peers':
      return {
        peers: helia.libp2p.getConnections().map(c => {
          const a = c.remoteAddr.toString()
          return a.includes('/p2p/') ? a : `${a}/p2p/${c.remotePeer}`
        })
      }
    case 'cat': {
      const started = Date.now()
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of fs.cat(CID.parse(req.cid), {
        signal: AbortSignal.timeout(req.timeout_ms ?? 20_000)
      })) {
        hash.update(chunk)
        size += chunk.length
      }
      return { sha256: hash.digest('hex'), size, ms: Date.now() - started }
    }
    case 'quit':
      return { ok: true, quit: true }
    default:
      throw new Error(`unknown command ${JSON.stringify(req.cmd)}`)
  }
}

async function shutdown (code) {
  try {
    await Promise.race([helia.stop(), new Promise(resolve => setTimeout(resolve, 3000))])
  } finally {
    process.exit(code)
  }
}

// one command at a time, answers in order
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (line.trim() === '') continue
  let req
  try {
    req = JSON.parse(line)
  } catch (err) {
    emit({ error: `not JSON: ${line}` })
    continue
  }
  let answer
  try {
    answer = await run(req)
  } catch (err) {
    answer = { error: `${req.cmd}: ${describe(err)}` }
  }
  if (answer.quit) {
    emit({ ok: true })
    await shutdown(0)
  }
  emit(answer)
}
await shutdown(0)
