-- wrk script: GET each path of a file in turn (one path a line), e.g. actors' pages or the
-- suggestions of many sources, so the load is not one cached URL.
--   wrk -t1 -c32 -d10s -s bench/wrk_paths.lua http://127.0.0.1:8000 -- paths.txt
local paths = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no path in " .. args[1])
  end
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index])
end
