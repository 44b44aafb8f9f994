// Shared by the interop scripts: one JSON object per line on stdout, an overall deadline, and
// the js-libp2p config (loopback only, no outside services, no discovery).
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'

/** Prints one JSON object as one line on stdout. */
export function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** Prints `{"error": msg}` on stdout, the message on stderr, and exits 1. */
export function fail (msg) {
  emit({ error: String(msg) })
  process.stderr.write(`${process.argv[1]}: ${msg}\n`)
  process.exit(1)
}

/** Exits with a clear message if the script is still running after `ms`. */
export function deadline (ms, what) {
  const t = setTimeout(() => fail(`${what}: timed out after ${ms} ms`), ms)
  t.unref()
  return t
}

/** The error's message with its cause chain (js-libp2p wraps the useful part). */
export function describe (err) {
  const parts = []
  for (let e = err; e != null && parts.length < 5; e = e.cause) {
    parts.push(`${e.name ?? 'Error'}: ${e.message ?? e}`)
    if (e.errors != null) parts.push(...e.errors.map(x => `  ${x.name}: ${x.message}`))
  }
  return parts.join(' <- ')
}

/** The libp2p options both scripts share: tcp + noise + yamux, identify, ping. */
export function baseLibp2p (listen) {
  return {
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    // loopback addresses are what these tests use: dial them
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping({ maxOutboundStreams: 4 })
    }
  }
}
