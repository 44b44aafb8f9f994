// lan_dht.mjs MULTIADDR CID
// A js-libp2p node whose only DHT is @libp2p/kad-dht on /ipfs/lan/kad/1.0.0, set up as the
// LAN DHT of helia and kubo (public addresses removed, server mode), dials MULTIADDR (ending in
// /p2p/PEERID), waits until that peer is in its LAN routing table, asks the DHT for the
// providers of CID and prints one JSON line:
//   {"table": N, "providers": ["12D3...", ...]}
// On failure it prints {"error": "..."} and exits 1. Overall timeout: 60 s.
import { createLibp2p } from 'libp2p'
import { kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { baseLibp2p, deadline, describe, emit, fail } from './lib.mjs'

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 60_000)

const [target, cidText] = process.argv.slice(2)
if (target == null || !target.includes('/p2p/') || cidText == null) {
  fail('usage: lan_dht.mjs MULTIADDR CID')
}
deadline(TIMEOUT_MS, 'lan_dht')

try {
  const opts = baseLibp2p(['/ip4/127.0.0.1/tcp/0'])
  opts.services.lanDHT = kadDHT({
    protocol: '/ipfs/lan/kad/1.0.0',
    peerInfoMapper: removePublicAddressesMapper,
    clientMode: false
  })
  const node = await createLibp2p(opts)
  await node.start()
  const dht = node.services.lanDHT
  await node.dial(multiaddr(target), { signal: AbortSignal.timeout(20_000) })
  // kad-dht adds a peer to its table once identify says it speaks the protocol
  const until = Date.now() + 20_000
  while (dht.routingTable.size === 0 && Date.now() < until) {
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const table = dht.routingTable.size
  if (table === 0) fail('the peer never entered the LAN routing table (does it speak /ipfs/lan/kad/1.0.0?)')
  const providers = new Set()
  for await (const ev of dht.findProviders(CID.parse(cidText), { signal: AbortSignal.timeout(20_000) })) {
    if (ev.name === 'PROVIDER') {
      for (const p of ev.providers) providers.add(p.id.toString())
    }
  }
  emit({ table, providers: [...providers] })
  await node.stop()
  process.exit(0)
} catch (err) {
  fail(describe(err))
}
