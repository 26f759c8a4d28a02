"""buildledger-version oracle: PEP 440 order per Python `packaging`.
Reads "a<TAB>b" lines on stdin; prints -1, 0, 1, or E (either invalid)."""
import sys
from packaging.version import Version, InvalidVersion

out = []
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    a, b = line.split("\t")
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        out.append("E")
        continue
    out.append("-1" if va < vb else ("1" if va > vb else "0"))
sys.stdout.write("\n".join(out) + "\n")
