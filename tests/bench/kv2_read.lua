-- kv2_read.lua -- wrk: KV v2 reads of secret/data/bench/k0..k999, which
-- run.sh writes first.  The token comes from BENCH_TOKEN.
local token = os.getenv("BENCH_TOKEN")
local n = 0

request = function()
	n = n + 1
	return wrk.format("GET", "/v1/secret/data/bench/k" .. (n % 1000),
	    { ["X-Vault-Token"] = token })
end
