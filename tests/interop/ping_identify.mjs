// ping_identify.mjs MULTIADDR
// A js-libp2p node (tcp, noise, yamux, identify, ping) dials MULTIADDR (ending in /p2p/PEERID),
// pings it 3 times and prints one JSON line:
//   {"ping_ms":[..3..],"peer":"12D3...","agentVersion":"...","protocolVersion":"...",
//    "protocols":[...],"listenAddrs":[...]}
// On failure it prints {"error": "..."} and exits 1. Overall timeout: 60 s.
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { baseLibp2p, deadline, describe, emit, fail } from './lib.mjs'

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 60_000)
const PINGS = 3

const target = process.argv[2]
if (target == null || !target.includes('/p2p/')) {
  fail('usage: ping_identify.mjs MULTIADDR (ending in /p2p/PEERID)')
}
deadline(TIMEOUT_MS, 'ping_identify')

let node
try {
  node = await createLibp2p(baseLibp2p([]))
  await node.start()
  const ma = multiaddr(target)
  const expected = target.slice(target.lastIndexOf('/p2p/') + 5)

  // identify runs on every new connection; catch its event for this peer as a second source
  const identified = new Promise(resolve => {
    node.addEventListener('peer:identify', evt => {
      if (evt.detail.peerId.toString() === expected) resolve(evt.detail)
    })
  })

  const conn = await node.dial(ma, { signal: AbortSignal.timeout(20_000) })
  const peer = conn.remotePeer.toString()
  if (peer !== expected) fail(`dialled ${expected} but the remote peer is ${peer}`)

  const pingMs = []
  for (let i = 0; i < PINGS; i++) {
    pingMs.push(await node.services.ping.ping(ma, { signal: AbortSignal.timeout(10_000) }))
  }

  // an explicit identify on the connection, else the automatic one's event
  let result
  try {
    result = await node.services.identify.identify(conn, { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    process.stderr.write(`explicit identify failed (${describe(err)}); waiting for the automatic one\n`)
    result = await Promise.race([identified, new Promise(resolve => setTimeout(resolve, 5_000))])
    if (result == null) fail(`identify failed: ${describe(err)} (and no peer:identify event within 5 s)`)
  }
  emit({
    ping_ms: pingMs,
    peer: result.peerId.toString(),
    agentVersion: result.agentVersion ?? null,
    protocolVersion: result.protocolVersion ?? null,
    protocols: [...(result.protocols ?? [])].sort(),
    listenAddrs: (result.listenAddrs ?? []).map(a => a.toString())
  })
  await node.stop()
  process.exit(0)
} catch (err) {
  fail(describe(err))
}
