"""buildledger-version oracle: Debian order per python-debian (a pure-Python
port of dpkg's algorithm, used as a fast proxy; dpkg itself is spot-checked by
dpkg.sh). Reads "a<TAB>b" lines; prints -1, 0, 1, or E (either invalid)."""
import sys
from debian.debian_support import NativeVersion

out = []
for line in sys.stdin.buffer.read().decode("utf-8").split("\n"):
    if not line:
        continue
    a, b = line.split("\t")
    try:
        c = NativeVersion(a)._compare(NativeVersion(b))
    except ValueError:
        out.append("E")
        continue
    out.append("-1" if c < 0 else ("1" if c > 0 else "0"))
sys.stdout.write("\n".join(out) + "\n")
