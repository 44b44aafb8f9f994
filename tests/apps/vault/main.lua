-- A service with a secret in its env and a value in its own database (tests/security_rights.rs).
local db = require('db')
local lever = require('lever')
return {
  pass = function() return lever.env.PASS end,
  put = function(v) db.Set("k", v) return true end,
  get = function() return db.Get("k") end,
}
