-- The entry tests/page_contract.rs calls through the page's requestEntry("hello", {n = 2}).
local M = {}

function M.hello(a)
  return { aid = a.aid, appid = a.params.appid, n = a.body and a.body.n, entry = a.params.entry }
end

return M
