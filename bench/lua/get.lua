-- GET over a pool of paths (task reads, list queries), one per line of PATHS_FILE.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local i = math.random(#paths)

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
