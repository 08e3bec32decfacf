return {a = 1, b = "two", c = {1, 2, 3}, d = {e = true}}
