local U = {}
function U.version() return "v1" end
return U
