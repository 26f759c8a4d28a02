package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

func main() {
	tag := language.Make("de-CH")
	s := "e\u0301"
	if len(os.Args) > 1 {
		s = os.Args[1]
	}
	fmt.Println(tag.String(), norm.NFC.String(s))
}
