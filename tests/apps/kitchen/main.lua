local db = require('db')
local log = require('log')
local lever = require('lever')
local var = require('var')
local json = require('json')
local util = require('lib.util')

-- A name for this instance (a Lua state): tables print with their address.
local ID = tostring({}):match("0x%x+") or tostring(math.random())
local open = {}
local ticks = 0

local M = {}

function M.NewResource(r) open[r] = true; log.info("open " .. r .. " on " .. ID) end
function M.CloseResource(r) open[r] = nil; log.info("close " .. r .. " on " .. ID) end

function M.id() return { id = ID, resource = lever.resource(), open = lever.resource() and open[lever.resource()] or false } end
function M.version() return util.version() end
function M.now() return lever.now() end
function M.slow(ms) lever.sleep(ms or 300) return util.version() end
function M.loop() while true do end end
function M.pcallLoop() while true do pcall(function() while true do end end) end end
function M.bomb() BOMB = {} for i = 1, 1e9 do BOMB[i] = string.rep("x", 1024) .. i end end
function M.boom() error("boom") end
function M.count() return db.Incr("n") end
function M.token() print("token is " .. lever.env.TOKEN) return #lever.env.TOKEN end
function M.ver() return var.GetVar("ver") end
function M.user() return var.GetVar("userid") end
function M.hidden() return lever.invoke("lever://secret/whisper", "psst") end
function M.hello() return lever.invoke("lever://dev.lever/helloService/SayHello", "kitchen") end
function M.mem() collectgarbage() return collectgarbage("count") end
function M.tick() ticks = ticks + 1 db.Set("ticks", ticks) end
function M.ticks() return db.Get("ticks") end
function M.page(a) return "<h1>" .. tostring(a.mid) .. " " .. a.params.x .. "</h1>" end
function M.json(v) return json.decode(json.encode(v)) end
function M.echoChan(s, prefix)
  while true do
    local m = s:recv()
    if m == nil then break end
    s:send((prefix or "") .. json.encode(m))
  end
  return "done"
end
function M.relayChan(s)
  local other = lever.stream("lever://kitchen/echoChan", "relay:")
  while true do
    local m = s:recv()
    if m == nil then break end
    other:send(m)
    s:send(other:recv())
  end
  other:close()
  return other:recv()
end
return M
