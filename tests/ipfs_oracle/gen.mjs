// Writes the deterministic inputs of leither's IPFS oracle vectors into DIR:
//   rand-N   N pseudo-random bytes (xorshift32 seeded with (N ^ 0x9E3779B9) | 1, state words
//            little-endian) -- the same generator as src/ipfs/importer_tests.rs
//   big-N/   a flat directory of N small files (f00000-xxxxxxxxxxxxxxxxxxxx.txt holding "0\n",
//            ...): big enough N makes kubo shard it (HAMT)
//   edge-N/  a flat directory of N small files whose names are 30 bytes (e00000-xxx...x.txt
//            holding "0\n", ...): with CIDv0 each entry counts 30 + 34 bytes toward the HAMT
//            threshold, so edge-4096 is exactly 262144 (sharded by kubo 0.22, flat by boxo)
//   tree/    a nested directory (see tree() below; importer_tests.rs builds the same one)
//   node gen.mjs DIR NAME...      (NAME: rand-N, big-N or edge-N; tree/ is always written)
import * as fs from 'node:fs'
import * as path from 'node:path'

export function rand (n) {
  const out = Buffer.alloc(n + 3)
  let s = ((n ^ 0x9E3779B9) | 1) >>> 0
  for (let i = 0; i < n; i += 4) {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    out.writeUInt32LE(s, i)
  }
  return out.subarray(0, n)
}

function tree (dir) {
  const put = (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), data)
  }
  put('tree/a.bin', rand(262145))
  put('tree/Z', 'Z')
  put('tree/sub/b.txt', 'hello\n')
  put('tree/sub/deeper/c', '')
  put('tree/sub/deeper/\u00e9t\u00e9.txt', rand(1000))
  put('tree/sub/b.txt.orig', 'hello\n')
  fs.mkdirSync(path.join(dir, 'tree/empty'), { recursive: true })
}

function big (dir, n) {
  const d = path.join(dir, `big-${n}`)
  fs.mkdirSync(d, { recursive: true })
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(d, `f${String(i).padStart(5, '0')}-${'x'.repeat(20)}.txt`), `${i}\n`)
  }
}

function edge (dir, n) {
  const d = path.join(dir, `edge-${n}`)
  fs.mkdirSync(d, { recursive: true })
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(d, `e${String(i).padStart(5, '0')}-${'x'.repeat(19)}.txt`), `${i}\n`)
  }
}

const [dir, ...names] = process.argv.slice(2)
if (dir === undefined) {
  process.stderr.write('usage: node gen.mjs DIR NAME...\n')
  process.exit(2)
}
fs.mkdirSync(dir, { recursive: true })
for (const name of names) {
  const m = /^(rand|big|edge)-(\d+)$/.exec(name)
  if (m == null) continue
  if (m[1] === 'rand') fs.writeFileSync(path.join(dir, name), rand(Number(m[2])))
  else if (m[1] === 'edge') edge(dir, Number(m[2]))
  else big(dir, Number(m[2]))
}
tree(dir)
