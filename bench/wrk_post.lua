-- wrk script: POST a new actor per request, each with a name of its own (random words, so the
-- registry's likely-duplicate check compares it with its namesakes and lets it through).
--   wrk -t1 -c32 -d10s -s bench/wrk_post.lua http://127.0.0.1:8000 -- /v1/actors KEY RUN_TAG
-- KEY may be "-" (no Authorization header, for the bare endpoint).
local path, authorization, tag
local counter = 0
local syllables = {
  "ba", "ko", "ri", "tu", "ne", "sa", "lo", "mi", "da", "fe", "gu", "pi", "zo", "ve",
  "ha", "je", "qua", "wen", "xi", "yor", "bel", "mar", "sto", "lun",
}
local themes = {
  "water_sanitation", "health", "education", "youth", "culture", "climate", "energy",
  "agriculture_food_security", "migration_development", "gender_equality", "peace",
}
local countries = { "ML", "SN", "BF", "MA", "TN", "HT", "VN", "MG", "CM", "BJ" }

function init(args)
  path = args[1]
  authorization = args[2]
  tag = args[3] or tostring(os.time())
  -- Seeded by the tag too: rounds started in the same second draw names of their own.
  local seed = os.time()
  for i = 1, #tag do
    seed = (seed * 31 + tag:byte(i)) % 2147483647
  end
  math.randomseed(seed)
end

local function word(n)
  local parts = {}
  for k = 1, n do
    parts[k] = syllables[math.random(#syllables)]
  end
  local w = table.concat(parts)
  return w:sub(1, 1):upper() .. w:sub(2)
end

-- Two different items of a list.
local function two(list)
  local i = math.random(#list)
  local j = (i + math.random(#list - 1) - 1) % #list + 1
  return list[i], list[j]
end

function request()
  counter = counter + 1
  local theme_a, theme_b = two(themes)
  local country_a, country_b = two(countries)
  -- Four random words: 24¹² names, so none of a run comes near another. The run's tag and
  -- counter used to end every name as written ("run123-45"): every name of a run then shared
  -- that segment, and each POST compared itself with all the run's earlier ones, as names of
  -- no real directory do.
  local name = string.format("%s %s %s %s", word(3), word(2), word(4), word(3))
  local body = string.format(
    '{"kind":"association","name":"%s","country":"FR",' ..
      '"description":"Association de solidarité internationale créée pour le banc d\'essai : ' ..
      'accès à l\'eau, santé, éducation et jeunesse avec des partenaires en Afrique de l\'Ouest.",' ..
      '"themes":["%s","%s"],"intervention_countries":["%s","%s"],' ..
      '"latitude":%.4f,"longitude":%.4f,"website":"https://example.org/%s-%d"}',
    name,
    theme_a, theme_b, country_a, country_b,
    43 + math.random() * 7, -1 + math.random() * 8, tag, counter
  )
  local headers = { ["Content-Type"] = "application/json" }
  if authorization ~= "-" then
    headers["Authorization"] = "Bearer " .. authorization
  end
  return wrk.format("POST", path, headers, body)
end
