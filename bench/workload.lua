-- wrk script: replays one raw HTTP/1.1 request from bench/workloads/*.http
-- (method, target, headers and body as written; Host and Content-Length
-- are set by wrk for the server under test).
-- Usage: wrk -s bench/workload.lua URL -- FILE
local req

function init(args)
    local f = assert(io.open(args[1], "rb"))
    local text = f:read("*a")
    f:close()
    local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
    if not head then head, body = text, "" end
    local lines = {}
    for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
    local method, path = lines[1]:match("^(%S+)%s+(%S+)")
    local headers = {}
    for i = 2, #lines do
        local k, v = lines[i]:match("^([^:]+):%s*(.*)$")
        if k then
            local lk = k:lower()
            if lk ~= "host" and lk ~= "content-length" then headers[k] = v end
        end
    end
    if body == "" then body = nil end
    req = wrk.format(method, path, headers, body)
end

function request()
    return req
end
