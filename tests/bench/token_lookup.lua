-- token_lookup.lua -- wrk: auth/token/lookup-self with the token from
-- BENCH_TOKEN.
local token = os.getenv("BENCH_TOKEN")

request = function()
	return wrk.format("GET", "/v1/auth/token/lookup-self",
	    { ["X-Vault-Token"] = token })
end
