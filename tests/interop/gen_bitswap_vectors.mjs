// Writes src/net/bitswap_vectors.txt: bitswap 1.2.0 messages encoded by an independent
// implementation, @helia/bitswap's protons codec (BitswapMessage in dist/src/pb/message.js),
// with CIDs and prefixes from multiformats and @helia/bitswap's own cidToPrefix.
// One `name hex` per line; `#` lines are comments. Unit tests in src/net/bitswap_wire_tests.rs
// decode each vector and re-encode it byte for byte, except `decodeonly_*` ones, which carry
// proto3 default values explicitly (as protons' `optional` fields do) and re-encode shorter.
//
// Usage: node gen_bitswap_vectors.mjs NODE_MODULES_DIR > src/net/bitswap_vectors.txt
// (see gen_bitswap_vectors.README).
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const nm = process.argv[2]
if (!nm) {
  console.error('usage: node gen_bitswap_vectors.mjs NODE_MODULES_DIR')
  process.exit(2)
}
const load = (p) => import(pathToFileURL(join(nm, p)).href)
const { BitswapMessage, WantType, BlockPresenceType } = await load('@helia/bitswap/dist/src/pb/message.js')
const { cidToPrefix } = await load('@helia/bitswap/dist/src/utils/cid-prefix.js')
const { CID } = await load('multiformats/dist/src/cid.js')
const { sha256 } = await load('multiformats/dist/src/hashes/sha2.js')
const { identity } = await load('multiformats/dist/src/hashes/identity.js')
const version = JSON.parse(readFileSync(join(nm, '@helia/bitswap/package.json'), 'utf8')).version

const te = new TextEncoder()
const hello = te.encode('hello world\n')
// An empty UnixFS directory, dag-pb: PBNode { Data: UnixFS { Type: Directory } }.
const emptyDir = Uint8Array.from([0x0a, 0x02, 0x08, 0x01])
const rawHello = CID.createV1(0x55, await sha256.digest(hello))
const v0Dir = CID.createV0(await sha256.digest(emptyDir))
const v1Dir = CID.createV1(0x70, await sha256.digest(emptyDir))
const idHi = CID.createV1(0x55, identity.digest(te.encode('hi')))

const hex = (b) => Buffer.from(b).toString('hex')
const vectors = []
const add = (name, msg) => vectors.push(`${name} ${hex(BitswapMessage.encode(msg))}`)

// Proto3 defaults are left out (undefined), as boxo's gogo codec leaves them out.
add('wantlist_have_dont_have', {
  wantlist: {
    entries: [
      { cid: rawHello.bytes, priority: 1, wantType: WantType.WantHave, sendDontHave: true },
      { cid: v0Dir.bytes, priority: 2147483647 },
      { cid: v1Dir.bytes, priority: -5, wantType: WantType.WantHave },
      { cid: idHi.bytes, priority: 0, cancel: true }
    ],
    full: true
  }
})
add('wantlist_partial', {
  wantlist: { entries: [{ cid: v0Dir.bytes, priority: 1, sendDontHave: true }] }
})
add('payload_v0_dagpb', { blocks: [{ prefix: cidToPrefix(v0Dir), data: emptyDir }] })
add('payload_v1_raw', { blocks: [{ prefix: cidToPrefix(rawHello), data: hello }] })
add('payload_identity', { blocks: [{ prefix: cidToPrefix(idHi), data: te.encode('hi') }] })
add('presences', {
  blockPresences: [
    { cid: rawHello.bytes, type: BlockPresenceType.HaveBlock },
    { cid: v0Dir.bytes, type: BlockPresenceType.DoNotHaveBlock }
  ],
  pendingBytes: 1234
})
add('mixed', {
  wantlist: { entries: [{ cid: v1Dir.bytes, priority: 7, wantType: WantType.WantHave }] },
  blocks: [
    { prefix: cidToPrefix(rawHello), data: hello },
    { prefix: cidToPrefix(v1Dir), data: emptyDir }
  ],
  blockPresences: [{ cid: idHi.bytes, type: BlockPresenceType.DoNotHaveBlock }],
  pendingBytes: -1
})
add('decodeonly_explicit_defaults', {
  wantlist: {
    entries: [{ cid: rawHello.bytes, priority: 1, cancel: false, wantType: WantType.WantBlock, sendDontHave: false }],
    full: false
  }
})

console.log(`# bitswap 1.2.0 vectors from @helia/bitswap ${version} (protons); tests/interop/gen_bitswap_vectors.mjs`)
console.log(`# CIDs: raw "hello world\\n" ${rawHello}, empty dir v0 ${v0Dir}, v1 ${v1Dir}, identity "hi" ${idHi}`)
for (const v of vectors) console.log(v)
