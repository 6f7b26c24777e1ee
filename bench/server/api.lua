-- wrk script for bench/server.sh: one request shape per run, chosen by the first argument.
--   wrk ... -s api.lua -- MODE TOKEN FIRST COUNT [PROJECT]
-- MODE: task   GET /api/tasks/{id}, ids FIRST .. FIRST+COUNT-1 in turn
--       post   POST /api/tasks/{id}/annotations with a valid annotation (reviews.xml)
--       after  GET /api/tasks?project=PROJECT&after=ID (keyset page of 100)
--       page   GET /api/tasks?project=PROJECT&page=N (offset page of 100)
--       static GET /task.json (the nginx baseline; same headers sent)
-- done() prints one machine-readable "WRK key=value ..." line that the shell script reads.

local tid_next = 0
function setup(thread)
    -- Each thread starts at a different place in the id cycle.
    thread:set("tid", tid_next)
    tid_next = tid_next + 1
end

local mode, first, count, project
local i = 0
local choices = { "Positive", "Negative", "Neutral" }

function init(args)
    mode = args[1]
    wrk.headers["Authorization"] = "Token " .. args[2]
    first = tonumber(args[3]) or 1
    count = tonumber(args[4]) or 1
    project = args[5] or "1"
    i = ((tid or 0) * 7919) % count
    if mode == "post" then wrk.headers["Content-Type"] = "application/json" end
end

function request()
    i = (i + 1) % count
    local id = first + i
    if mode == "task" then
        return wrk.format("GET", "/api/tasks/" .. id)
    elseif mode == "post" then
        -- Every text starts with "task": the span is valid for every task.
        local body = '{"result":[{"id":"c","from_name":"sentiment","to_name":"text",' ..
            '"type":"choices","value":{"choices":["' .. choices[i % 3 + 1] .. '"]}},' ..
            '{"id":"s","from_name":"ner","to_name":"text","type":"labels",' ..
            '"value":{"start":0,"end":4,"text":"task","labels":["PRODUCT"]}}],"lead_time":3.5}'
        return wrk.format("POST", "/api/tasks/" .. id .. "/annotations", nil, body)
    elseif mode == "after" then
        return wrk.format("GET", "/api/tasks?project=" .. project .. "&after=" .. (id - 1))
    elseif mode == "page" then
        return wrk.format("GET", "/api/tasks?project=" .. project .. "&page=" .. (i % 10000 + 1))
    else
        return wrk.format("GET", "/task.json")
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRK requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
        "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d bytes=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
        summary.bytes))
end
