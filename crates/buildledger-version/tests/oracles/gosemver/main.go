// buildledger-version oracle: golang.org/x/mod/semver (IsValid, Compare).
// The test copies Debian's semver.go next to this file as package semver.
// Reads "a<TAB>b" lines on stdin; prints -1, 0, 1 or E (either invalid).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"blversionoracle/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		a, b, _ := strings.Cut(in.Text(), "\t")
		if !semver.IsValid(a) || !semver.IsValid(b) {
			fmt.Fprintln(out, "E")
			continue
		}
		fmt.Fprintln(out, semver.Compare(a, b))
	}
}
