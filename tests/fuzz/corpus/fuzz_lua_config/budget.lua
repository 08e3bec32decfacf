local t = {}
for i = 1, 100 do t[#t + 1] = string.rep("x", i % 7) .. i end
local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
local ok, e = pcall(error, {code = 1})
return {n = #t, first = t[1], co = co(), ok = ok, utf = utf8.char(228, 8364),
        m = math.floor(3.7), s = ("%5.2f"):format(math.pi), nested = {{1}, {2, 3}}}
