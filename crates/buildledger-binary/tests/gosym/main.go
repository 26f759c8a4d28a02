// A small program for tests/gosym_oracle.rs: calls into package shapes so
// that some of its functions are inlined here and others are not.
package main

import (
	"fmt"
	"os"

	"example.com/gosymtest/shapes"
)

func main() {
	n := len(os.Args)
	r := &shapes.Rect{W: 3, H: n}
	// Double and (*Rect).Area are small enough to be inlined here.
	fmt.Println(shapes.Double(n), r.Area())
	// Slow and (*Rect).Scale are marked //go:noinline.
	fmt.Println(shapes.Slow(n))
	r.Scale(2)
	var s shapes.Shape = r
	fmt.Println(s.Perimeter(), shapes.Sum([]int{1, 2, n}), shapes.Sum([]float64{0.5, 1}))
	f := func() string { return os.Args[0] }
	fmt.Println(shapes.Describe(f))
}
