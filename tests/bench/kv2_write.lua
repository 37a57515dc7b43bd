-- kv2_write.lua -- wrk: durable KV v2 writes over secret/data/bench/w*,
-- 10,000 keys, each a new version.  The token comes from BENCH_TOKEN.
local token = os.getenv("BENCH_TOKEN")
local n = 0

request = function()
	n = n + 1
	return wrk.format("POST", "/v1/secret/data/bench/w" .. (n % 10000),
	    { ["X-Vault-Token"] = token,
	      ["Content-Type"] = "application/json" },
	    '{"data":{"user":"app","password":"s3cr3t-' .. n .. '"}}')
end
