"""buildledger-version oracle: Alpine order per Python `univers`
(AlpineLinuxVersion: validity and vercmp). univers follows Gentoo's rules,
which agree with apk-tools only on part of the grammar; the test generates
versions from that part. Reads "a<TAB>b" lines; prints -1, 0, 1 or E."""
import sys
from univers.versions import AlpineLinuxVersion
from univers import gentoo

out = []
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    a, b = line.split("\t")
    if not (AlpineLinuxVersion.is_valid(a) and AlpineLinuxVersion.is_valid(b)):
        out.append("E")
        continue
    c = gentoo.vercmp(a, b)
    out.append("-1" if c < 0 else ("1" if c > 0 else "0"))
sys.stdout.write("\n".join(out) + "\n")
