-- GET scenarios (detail, list, deep page, summary, search): each request is a random line of the
-- file BENCH_PATHS (paths with query strings, written by bench/run.py for the scenario).
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

local paths

function init(args)
   paths = read_lines(os.getenv("BENCH_PATHS"))
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
   return wrk.format("GET", paths[math.random(#paths)])
end
