-- buildledger-version oracle: rpm's own rpm.vercmp (rpmverCmp on EVR strings).
-- Run as: rpm --define "_bl_pairs FILE" --eval "%{lua: dofile('rpm_vercmp.lua')}"
-- FILE has "a<TAB>b" lines; prints -1, 0, 1 or E (rpm refused a version).
local path = rpm.expand("%{_bl_pairs}")
local out = {}
for line in io.lines(path) do
  local a, b = line:match("^([^\t]*)\t(.*)$")
  local ok, c = pcall(rpm.vercmp, a, b)
  if not ok then
    out[#out + 1] = "E"
  else
    if c < 0 then c = -1 elseif c > 0 then c = 1 end
    out[#out + 1] = tostring(c)
  end
end
print(table.concat(out, "\n"))
