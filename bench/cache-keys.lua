-- (k2) GET /cache/k4/<n>, n chosen uniformly among 10,000 keys on every request: each path is
-- its own cache entry of 4 KiB (the origin answers every /k4/<n> with the same 4 KiB file).
-- Headers given with wrk -H are kept (wrk.format uses wrk.headers).
local keys = 10000

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
end

function request()
  return wrk.format("GET", "/cache/k4/" .. math.random(0, keys - 1))
end
