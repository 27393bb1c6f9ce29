-- JSON-RPC task/create on one agent: unnamed tasks, so no two requests collide.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local path = os.getenv("RPC_PATH")
local headers = {["Content-Type"] = "application/json"}
local body = '{"jsonrpc":"2.0","id":1,"method":"task/create","params":{}}'

function request()
  return wrk.format("POST", path, headers, body)
end
