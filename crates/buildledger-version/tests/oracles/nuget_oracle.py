"""buildledger-version oracle: NuGet order per Python `univers`
(NugetVersion, a port of OSV's NuGet comparator over python-semver).
Reads "a<TAB>b" lines on stdin; prints -1, 0, 1 or E (either invalid).

univers departs from NuGet.Versioning on a few classes of input (a leading
"v", white space inside, numbers beyond Int32, labels that .NET's
int.TryParse reads differently); the test keeps those out of the pairs it
sends. A string univers accepts without giving a value (empty or blank) is
reported as invalid, which is what NuGet says of it."""
import sys
from univers.versions import NugetVersion

out = []
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    a, b = line.split("\t")
    try:
        va, vb = NugetVersion(a).value, NugetVersion(b).value
    except Exception:
        out.append("E")
        continue
    if va is None or vb is None:
        out.append("E")
        continue
    out.append("-1" if va < vb else ("1" if vb < va else "0"))
sys.stdout.write("\n".join(out) + "\n")
