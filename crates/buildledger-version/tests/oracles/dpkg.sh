#!/bin/sh
# buildledger-version oracle: `dpkg --compare-versions` itself, one pair per
# line ("a<TAB>b") on stdin; prints -1, 0, 1, or E (dpkg refused a version).
tab=$(printf '\t')
while IFS="$tab" read -r a b; do
    dpkg --compare-versions -- "$a" lt "$b" 2>/dev/null
    rc=$?
    if [ $rc -eq 0 ]; then echo -1; continue; fi
    if [ $rc -ne 1 ]; then echo E; continue; fi
    if dpkg --compare-versions -- "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi
done
