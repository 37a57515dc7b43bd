-- growth.lua -- wrk: the KV v2 loads of tests/bench/growth.py.  The
-- token comes from BENCH_TOKEN; the rest from the environment:
--
--   GROWTH_MODE    load: write GROWTH_KEYS secrets once each, split over
--                  wrk's threads, then stop; write: new versions of keys
--                  picked at random among GROWTH_KEYS; read: reads of
--                  keys picked at random; list: LIST (GET ?list=true) of
--                  GROWTH_PREFIX
--   GROWTH_PREFIX  the folder under secret/ (default g)
--   GROWTH_KEYS    how many keys (default 1000)
--   GROWTH_SIZE    bytes of the value written (default 32)
--   GROWTH_THREADS wrk's -t, so that load can split the keys
--   GROWTH_MARK    for load: each thread creates GROWTH_MARK.ID when
--                  its share of the keys is answered
local token = os.getenv("BENCH_TOKEN")
local mode = os.getenv("GROWTH_MODE") or "read"
local prefix = os.getenv("GROWTH_PREFIX") or "g"
local nkeys = tonumber(os.getenv("GROWTH_KEYS") or "1000")
local size = tonumber(os.getenv("GROWTH_SIZE") or "32")
local nthreads = tonumber(os.getenv("GROWTH_THREADS") or "2")
local hdr = { ["X-Vault-Token"] = token,
    ["Content-Type"] = "application/json" }
local body = '{"data":{"v":"' .. string.rep("x", size) .. '"}}'
local threads = {}
local next_id = 0

setup = function(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

init = function(args)
	math.randomseed(id * 7919 + os.time())
	sent = 0
	answered = 0
	failed = 0
	-- Keys id, id + nthreads, id + 2 * nthreads, ... for load.
	share = math.floor((nkeys - id + nthreads - 1) / nthreads)
end

request = function()
	if mode == "load" then
		-- wrk calls thread 0's request() once, before it runs, to
		-- check the script: that request is never sent.
		if id == 0 and not checked then
			checked = true
			return wrk.format("GET", "/")
		end
		-- Each key once; once all are sent, cheap reads of a missing
		-- key (404) keep the connections busy until the last write is
		-- answered.
		local k = id + nthreads * sent
		sent = sent + 1
		if sent > share then
			return wrk.format("GET", "/v1/secret/data/" .. prefix ..
			    "/missing", hdr)
		end
		return wrk.format("POST", "/v1/secret/data/" .. prefix .. "/k" ..
		    k, hdr, body)
	elseif mode == "write" then
		return wrk.format("POST", "/v1/secret/data/" .. prefix .. "/k" ..
		    math.random(0, nkeys - 1), hdr, body)
	elseif mode == "list" then
		-- wrk's parser knows no LIST method: Vault's ?list=true.
		return wrk.format("GET", "/v1/secret/metadata/" .. prefix ..
		    "/?list=true", hdr)
	end
	return wrk.format("GET", "/v1/secret/data/" .. prefix .. "/k" ..
	    math.random(0, nkeys - 1), hdr)
end

response = function(status, headers, body)
	if mode == "load" and status == 404 then
		return
	end
	answered = answered + 1
	if status ~= 200 and status ~= 204 then
		failed = failed + 1
	end
	if mode == "load" and answered == share then
		-- wrk itself runs for its whole -d: growth.py stops it with
		-- SIGINT once every thread has left this mark.
		local f = io.open(os.getenv("GROWTH_MARK") .. "." .. id, "w")
		f:close()
		wrk.thread:stop()
	end
end

done = function(summary, latency, requests)
	local a, f = 0, 0
	for _, t in ipairs(threads) do
		a = a + t:get("answered")
		f = f + t:get("failed")
	end
	io.write(string.format("growth: answered %d failed %d\n", a, f))
end
