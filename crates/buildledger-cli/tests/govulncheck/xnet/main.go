package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>buildledger <b>fixture</b></p>"))
	if err != nil {
		panic(err)
	}
	n := 0
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		n++
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	fmt.Println("nodes:", n)
}
