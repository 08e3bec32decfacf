-- A glue node of the flagship pipeline: reads what data.load wrote
-- (its schema.json) and writes a small profile of the dataset, with the
-- row count as a metric.  Runs in the Lua sandbox: files only through
-- the dagrun API.
local input = dagrun.inputs()[1]
local schema = dagrun.json_decode(dagrun.read(input, "schema.json"))

local numbers = {}
for _, col in ipairs(schema.columns) do
  if col.type == "number" then numbers[#numbers + 1] = col.name end
end
table.sort(numbers)

local profile = {
  source = schema.source,
  rows = schema.rows,
  target = schema.target,
  timestamp = schema.timestamp,
  numeric_columns = numbers,
  dropped_rows = schema.dropped_rows,
}
dagrun.write("profile.json", dagrun.json_encode(profile))
dagrun.metric("rows", schema.rows)
dagrun.log(string.format("%s: %d rows, %d numeric columns",
  schema.source, schema.rows, #numbers))
