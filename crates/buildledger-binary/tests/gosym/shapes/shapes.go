// Package shapes holds functions whose inlining tests/gosym_oracle.rs checks.
package shapes

import "strings"

// Shape is called through an interface, so its methods stay out of line.
type Shape interface {
	Perimeter() int
}

// Rect is a rectangle.
type Rect struct{ W, H int }

// Double is small: the compiler inlines it into its callers.
func Double(x int) int { return 2 * x }

// Slow must stay a function of its own.
//
//go:noinline
func Slow(x int) int { return x + 1 }

// Area has a pointer receiver and is inlined.
func (r *Rect) Area() int { return r.W * r.H }

// Scale has a pointer receiver and is not inlined.
//
//go:noinline
func (r *Rect) Scale(k int) {
	r.W *= k
	r.H *= k
}

// Perimeter is reached through Shape.
func (r *Rect) Perimeter() int { return 2 * (r.W + r.H) }

// Sum is generic: its instantiations carry type arguments in their names.
//
//go:noinline
func Sum[T int | float64](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

// Describe takes a closure and upper-cases what it returns.
//
//go:noinline
func Describe(f func() string) string {
	return strings.ToUpper(f())
}
