// What tests/lever_client.rs checks of the leveros JS client (js/leveros), the same in Node
// (leveros_node.mjs) and in Chromium (leveros_page.mjs): `checks(leveros, forceHost)` calls
// tests/apps/jsclient deployed in dev.lever and returns what each call gave, one field each;
// the Rust test asserts on them. It never throws: a failed call is its error's message.
export async function checks (leveros, forceHost) {
  const out = {}
  const client = new leveros.Client()
  client.forceHost = forceHost
  const svc = client.service('dev.lever', 'jsclient')
  const grab = async (name, work) => {
    try { out[name] = await work() } catch (e) { out[name] = { error: e.message, code: e.code, status: e.status } }
  }
  // Lever's callback form, then the promise form.
  await grab('callback', () => new Promise((resolve, reject) =>
    svc.invoke('hello', 'world', (err, reply) => (err ? reject(err) : resolve(reply)))))
  await grab('promise', () => svc.invoke('hello', 'promise'))
  await grab('invokeURL', () => client.invokeURL('lever://dev.lever/jsclient/hello', 'url'))
  await grab('shape', () => svc.invoke('shape'))
  // Resources: Lever's client.resource(env, service, resource), and endpoint.resource(name).
  await grab('resource', () => client.resource('dev.lever', 'jsclient', 'room 1').invoke('whoami', 'ann'))
  await grab('resource2', () => svc.resource('room2').invoke('whoami', 'bob'))
  // One bytes argument goes as the raw body; a bytes result comes back as bytes.
  await grab('bytesIn', () => svc.invoke('size', new Uint8Array([0xff, 0, 1, 2])))
  await grab('bytesOut', async () => {
    const b = await svc.invoke('rev', new Uint8Array([0xff, 0, 1]))
    return { bytes: b instanceof Uint8Array, list: Array.from(b) }
  })
  await grab('luaError', () => svc.invoke('boom'))
  await grab('noService', () => client.service('dev.lever', 'nosuch').invoke('x'))
  // Attack: methods named _... are the service's own.
  await grab('private', () => svc.invoke('_private'))
  await grab('privateChan', () => svc.invokeChan('_privChan'))
  await grab('wrongKind', () => svc.invoke('echoChan'))
  // A stream: messages both ways, the return value last, then 'end'.
  await grab('stream', () => new Promise((resolve, reject) => {
    svc.invokeChan('echoChan', '>', (err, stream) => {
      if (err) { reject(err); return }
      const got = []
      stream.on('data', (m) => got.push(m))
      stream.on('error', reject)
      stream.on('end', () => resolve(got))
      stream.write(1)
      stream.write('two')
      stream.write({ n: 3 })
      stream.end()
    })
  }))
  // Bytes over a stream, read with for await (not UTF-8: text that is UTF-8 travels as a string).
  await grab('streamBytes', async () => {
    const s = await svc.invokeChan('catChan')
    s.write(new Uint8Array([0xff, 2, 3]))
    s.end()
    const got = []
    for await (const m of s) got.push({ bytes: m instanceof Uint8Array, list: Array.from(m) })
    return got
  })
  // A handler that fails: its message first, then 'error' with the reason.
  await grab('streamError', async () => {
    const s = await svc.invokeChan('failChan')
    const got = []
    try {
      for await (const m of s) got.push(m)
    } catch (e) {
      return { got, error: e.message, code: e.code }
    }
    return { got }
  })
  return out
}
