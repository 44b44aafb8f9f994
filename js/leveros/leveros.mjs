// leveros: Lever OS's client API over a leither node's Lever contract (docs/lever.md).
//
// One ES module, no dependencies, for browsers (the node serves it at /lever/leveros.mjs) and
// Node 18+ (`npm install ./js/leveros`). Calls are `POST /SERVICE[/RESOURCE]/METHOD?forceenv=ENV`
// with the arguments as a JSON array (one Uint8Array/Buffer argument goes as the raw body);
// streams are a WebSocket on the same path with the arguments in `?args=` and `ready=1`. Every call takes a
// Node-style callback as its last argument, as Lever's client does, or returns a Promise
// when there is none. Errors are `Error`s carrying the node's message, with `code` (the node's
// error code) and `status` (the HTTP status) added.

const isBytes = (v) => v instanceof Uint8Array || v instanceof ArrayBuffer

/** True for a streaming method (Lever: a name ending in `Chan` or `_chan`, or `chan`). */
export function isChanMethod (name) {
  return name.endsWith('Chan') || name.endsWith('_chan') || name === 'chan'
}

function leverError (message, code, status) {
  const e = new Error(message)
  if (code !== undefined) e.code = code
  if (status !== undefined) e.status = status
  return e
}

// Bytes as Lever's Node client gives them: a Buffer under Node, else a Uint8Array.
function toBytes (ab) {
  return globalThis.Buffer ? globalThis.Buffer.from(ab) : new Uint8Array(ab)
}

// Splits `(...args, cb)`: the callback when the last argument is a function.
function splitCallback (argsAndCallback) {
  const last = argsAndCallback[argsAndCallback.length - 1]
  if (typeof last === 'function') return [argsAndCallback.slice(0, -1), last]
  return [argsAndCallback, null]
}

// Runs `work` (a Promise) for a callback, or returns it.
function settle (work, cb) {
  if (!cb) return work
  work.then((v) => cb(null, v), (e) => cb(e))
}

/** A parsed Lever URL: `lever://ENV/SERVICE[/RESOURCE]/METHOD` or `/SERVICE[/RESOURCE]/METHOD`. */
export function parseLeverURL (url) {
  let rest
  let env = ''
  if (url.startsWith('lever://')) {
    const segs = url.slice('lever://'.length).split('/')
    env = segs.shift() || ''
    rest = segs
  } else if (url.startsWith('/')) {
    rest = url.slice(1).split('/')
  } else {
    throw leverError(`"${url}" is not a Lever URL: lever://ENV/SERVICE[/RESOURCE]/METHOD`)
  }
  if (rest.length < 2 || rest.length > 3 || rest.some((s) => s === '')) {
    throw leverError(`"${url}" is not a Lever URL: lever://ENV/SERVICE[/RESOURCE]/METHOD`)
  }
  const [service, resource, method] = rest.length === 3 ? rest : [rest[0], '', rest[1]]
  return { environment: env, service, resource: decodeURIComponent(resource), method }
}

class Endpoint {
  constructor (client, env, service, resource) {
    this._client = client
    this._env = env
    this._service = service
    this._resource = resource || ''
  }

  /** The same service, calls sticking to `name` (Lever's resources). */
  resource (name) {
    return new Endpoint(this._client, this._env, this._service, name)
  }

  /** `invoke(method, ...args[, cb])`: the result, via `cb(err, reply)` or a Promise. */
  invoke (method, ...argsAndCallback) {
    const [args, cb] = splitCallback(argsAndCallback)
    return settle(this._client._invoke(this._url(method), args), cb)
  }

  /** `invokeChan(method, ...args[, cb])`: a Stream once open, via `cb(err, stream)` or a Promise. */
  invokeChan (method, ...argsAndCallback) {
    const [args, cb] = splitCallback(argsAndCallback)
    return settle(this._client._invokeChan(this._url(method), args), cb)
  }

  _url (method) {
    return { environment: this._env, service: this._service, resource: this._resource, method }
  }
}

/**
 * One stream: `write(msg)` sends a message (bytes as binary), `end()` ends this side's input;
 * events `data` (each message), `end` (the handler returned), `error` (it failed, or the
 * connection broke), as Lever's Stream. It is also an async iterable of its messages.
 */
export class Stream {
  constructor (ws) {
    this._ws = ws
    this._handlers = { data: [], end: [], error: [] }
    this._held = null // a message that may be the handler's error (decided at close)
    this._done = false
    this._pending = [] // events before the first listener
    this._flushing = false
    ws.binaryType = 'arraybuffer'
    ws.onmessage = (ev) => this._message(ev.data)
    ws.onclose = (ev) => this._close(ev.code, ev.reason)
    ws.onerror = () => {}
  }

  on (event, fn) {
    if (!this._handlers[event]) throw leverError(`a Stream has no "${event}" event`)
    this._handlers[event].push(fn)
    // Events that came before anyone listened are given, in order, once the listeners
    // added in the same turn are all there.
    if (this._pending.length && !this._flushing) {
      this._flushing = true
      queueMicrotask(() => {
        const pending = this._pending
        this._pending = []
        this._flushing = false
        for (const [e, v] of pending) this._emit(e, v)
      })
    }
    return this
  }

  once (event, fn) {
    const once = (...a) => { this.removeListener(event, once); fn(...a) }
    return this.on(event, once)
  }

  removeListener (event, fn) {
    const list = this._handlers[event] || []
    const i = list.indexOf(fn)
    if (i >= 0) list.splice(i, 1)
    return this
  }

  _emit (event, v) {
    const listening = this._handlers.data.length + this._handlers.end.length + this._handlers.error.length
    if (!listening || this._flushing) {
      this._pending.push([event, v])
      return
    }
    for (const fn of [...this._handlers[event]]) fn(v)
  }

  write (msg) {
    if (isBytes(msg) && msg.byteLength > 0) this._ws.send(msg)
    else this._ws.send(JSON.stringify(isBytes(msg) ? '' : msg))
  }

  end () {
    if (this._ws.readyState === 1) this._ws.send(new Uint8Array(0))
  }

  _flush () {
    if (this._held !== null) {
      const v = this._held
      this._held = null
      this._emit('data', v)
    }
  }

  _message (data) {
    this._flush()
    if (typeof data !== 'string') {
      this._emit('data', toBytes(data))
      return
    }
    let v
    try { v = JSON.parse(data) } catch { v = data }
    const looksLikeError = v !== null && typeof v === 'object' && !Array.isArray(v) &&
      Object.keys(v).length === 2 && typeof v.error === 'string' && typeof v.code === 'string'
    if (looksLikeError) this._held = v
    else this._emit('data', v)
  }

  _close (code, reason) {
    if (this._done) return
    this._done = true
    if (code === 1000 || code === 1005) {
      this._flush()
      this._emit('end')
      return
    }
    const held = this._held
    this._held = null
    const e = held
      ? leverError(held.error, held.code)
      : leverError(`the stream ended with code ${code}${reason ? ': ' + reason : ''}`, 'closed')
    this._emit('error', e)
  }

  async * [Symbol.asyncIterator] () {
    const queue = []
    let wake = null
    let finished = false
    let failure = null
    this.on('data', (v) => { queue.push(v); if (wake) wake() })
    this.on('end', () => { finished = true; if (wake) wake() })
    this.on('error', (e) => { failure = e; if (wake) wake() })
    for (;;) {
      if (queue.length) { yield queue.shift(); continue }
      if (failure) throw failure
      if (finished) return
      await new Promise((resolve) => { wake = resolve })
      wake = null
    }
  }
}

/** Lever's client: `new Client()`, then `.service(env, name)` or `.resource(env, name, res)`. */
export class Client {
  constructor () {
    /** HOST:PORT (or a URL) of the node to call; empty: the page's own node in a browser,
     * else the environment's name as the host, as Lever dials it. */
    this.forceHost = ''
    /** A session ID (from Login) the calls act with; empty: a guest's. */
    this.sid = ''
  }

  service (env, service) {
    return new Endpoint(this, env, service, '')
  }

  resource (env, service, resource) {
    return new Endpoint(this, env, service, resource)
  }

  invokeURL (url, ...argsAndCallback) {
    const [args, cb] = splitCallback(argsAndCallback)
    return settle(Promise.resolve().then(() => this._invoke(this._resolve(url), args)), cb)
  }

  invokeChanURL (url, ...argsAndCallback) {
    const [args, cb] = splitCallback(argsAndCallback)
    return settle(Promise.resolve().then(() => this._invokeChan(this._resolve(url), args)), cb)
  }

  _resolve (url) {
    const u = parseLeverURL(url)
    if (!u.environment) throw leverError('Environment not specified and cannot be deduced')
    return u
  }

  _base (env) {
    const h = this.forceHost
    if (h) return /^https?:\/\//.test(h) ? h.replace(/\/+$/, '') : `http://${h}`
    if (globalThis.location && /^https?:$/.test(globalThis.location.protocol)) {
      return globalThis.location.origin
    }
    return `http://${env}`
  }

  _path (u) {
    const enc = encodeURIComponent
    const res = u.resource ? '/' + enc(u.resource) : ''
    return `/${enc(u.service)}${res}/${enc(u.method)}?forceenv=${enc(u.environment)}`
  }

  async _invoke (u, args) {
    if (isChanMethod(u.method)) throw leverError('Use invokeChan for streaming methods')
    if (!u.environment) throw leverError('Environment not specified and cannot be deduced')
    const headers = {}
    let body
    if (args.length === 1 && isBytes(args[0])) {
      headers['Content-Type'] = 'application/octet-stream'
      body = args[0]
    } else {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(args)
    }
    if (this.sid) headers.Authorization = `Bearer ${this.sid}`
    let resp
    try {
      resp = await fetch(this._base(u.environment) + this._path(u), { method: 'POST', headers, body })
    } catch (e) {
      throw leverError(`cannot reach the node: ${e.message}`, 'unreachable')
    }
    const type = resp.headers.get('content-type') || ''
    if (resp.ok && type.startsWith('application/octet-stream')) {
      return toBytes(await resp.arrayBuffer())
    }
    const text = await resp.text()
    let v
    try { v = text.trim() === '' ? null : JSON.parse(text) } catch {
      throw leverError(`the node answered ${resp.status} with something that is not JSON`, 'bad_reply', resp.status)
    }
    if (!resp.ok) {
      const msg = v && typeof v.error === 'string' ? v.error : `the call failed with HTTP ${resp.status}`
      throw leverError(msg, v && v.code, resp.status)
    }
    return v
  }

  _invokeChan (u, args) {
    if (!isChanMethod(u.method)) return Promise.reject(leverError('Use invoke for non-streaming methods'))
    if (!u.environment) return Promise.reject(leverError('Environment not specified and cannot be deduced'))
    const WS = globalThis.WebSocket
    if (!WS) {
      return Promise.reject(leverError('this JavaScript runtime has no WebSocket (Node 22+, or node --experimental-websocket)'))
    }
    // `ready=1`: the node first sends an empty message once the handler runs (Lever's empty
    // first message), or the refusal and a close, which a browser could not read otherwise.
    let url = this._base(u.environment).replace(/^http/, 'ws') + this._path(u) +
      '&ready=1&args=' + encodeURIComponent(JSON.stringify(args))
    if (this.sid) url += '&sid=' + encodeURIComponent(this.sid)
    return new Promise((resolve, reject) => {
      const ws = new WS(url)
      ws.binaryType = 'arraybuffer'
      let refusal = null
      ws.onerror = () => {}
      ws.onclose = (ev) => {
        reject(refusal || leverError(`the stream could not be opened (code ${ev.code})`, 'closed'))
      }
      ws.onmessage = (ev) => {
        if (ev.data === '') {
          resolve(new Stream(ws))
          return
        }
        try { refusal = JSON.parse(ev.data) } catch {}
        refusal = refusal && typeof refusal.error === 'string'
          ? leverError(refusal.error, refusal.code)
          : leverError('the node sent no handshake', 'bad_reply')
      }
    })
  }
}

export default { Client, Stream, parseLeverURL, isChanMethod }
