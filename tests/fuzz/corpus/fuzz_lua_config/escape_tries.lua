local r = {}
r[#r + 1] = pcall(function() return io end)
r[#r + 1] = pcall(load, "return 1", "x", "b")
r[#r + 1] = pcall(setmetatable, {}, {__gc = print})
r[#r + 1] = pcall(collectgarbage, "collect")
r[#r + 1] = getmetatable("") == false
r[#r + 1] = pcall(string.rep, "x", 1 << 30)
return r
