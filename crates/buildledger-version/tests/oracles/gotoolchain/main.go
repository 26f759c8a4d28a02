// buildledger-version oracle: go/version (Go >= 1.22) IsValid and Compare.
// Reads "a<TAB>b" lines on stdin; prints -1, 0, 1 or E (either invalid).
package main

import (
	"bufio"
	"fmt"
	"go/version"
	"os"
	"strings"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		a, b, _ := strings.Cut(in.Text(), "\t")
		if !version.IsValid(a) || !version.IsValid(b) {
			fmt.Fprintln(out, "E")
			continue
		}
		fmt.Fprintln(out, version.Compare(a, b))
	}
}
