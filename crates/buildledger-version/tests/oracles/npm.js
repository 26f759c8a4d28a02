// buildledger-version oracle: node-semver's strict valid() and compare().
// Usage: node npm.js SEMVER_MODULE_DIR < pairs; prints -1, 0, 1 or E per line.
const semver = require(process.argv[2]);
const input = require("fs").readFileSync(0, "utf8").split("\n");
const out = [];
for (const line of input) {
  if (line === "") continue;
  const [a, b] = line.split("\t");
  if (semver.valid(a) === null || semver.valid(b) === null) { out.push("E"); continue; }
  out.push(String(semver.compare(a, b)));
}
process.stdout.write(out.join("\n") + "\n");
