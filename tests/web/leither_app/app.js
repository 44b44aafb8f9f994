// The app's logic: API node from window.getParam() (Leither's doc/Applition.md 1.4), a file
// read over the JSON API (MFOpenByPath, MFGetData), then setParam and requestEntry. Every
// outcome goes into window.pcResult; done turns true at the end (error: what stopped it; ms:
// navigation start to the end of the last call).
var baseurl = "http://127.0.0.1:4800/"
var p = null
if (window.getParam != null) {
    p = window.getParam()
    baseurl = "http://" + p["ips"][p.CurNode] + "/"
} else if (window.location.host != "") {
    baseurl = "http://" + window.location.host + "/"
}
var R = window.pcResult = { done: false, param: p, baseurl: baseurl, error: null }

function status(s) { document.getElementById("status").textContent = s }

async function api(fn, args) {
    var r = await fetch(baseurl + "api/" + fn, { method: "POST", body: JSON.stringify(args) })
    var j = await r.json()
    if (!r.ok) throw new Error(fn + ": " + (j && j.error))
    return j
}

function unb64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/")
    while (s.length % 4) s += "="
    return new TextDecoder().decode(Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0) }))
}

async function main() {
    // A parameter from the link is shown as text: it is data, never markup.
    if (p && p.x != null) document.getElementById("x").textContent = p.x
    status("reading data.txt")
    var fsid = await api("MFOpenByPath", ["", p.aid || p.mid, "data.txt", 0])
    var data = await api("MFGetData", [fsid, 0, -1])
    R.file = typeof data === "string" ? unb64url(data) : String(data)
    document.getElementById("file").textContent = R.file
    if (window.setParam) {
        R.setColor = window.setParam("color", "blue")
        R.colorAfter = window.getParam().color
        R.search = location.search
        R.setIps = window.setParam({ ips: ["evil.example:80"], CurNode: 3 })
        R.ipsAfter = window.getParam().ips
        R.curAfter = window.getParam().CurNode
    }
    status("calling the entry")
    R.entry = await window.requestEntry("hello", { n: 2 })
    status("done")
}

main().then(function () { R.ms = Math.round(performance.now()); R.done = true }, function (e) {
    R.error = String(e && e.message || e)
    status("failed: " + R.error)
    R.done = true
})
