// Command genfixed writes fixedlints_gen.go, the lints package lintinputs
// finds fixed, into the current directory; package ca runs it with go
// generate.
package main

import (
	"log"
	"os"

	"github.com/certorder/certorder/internal/ca/lintinputs"
)

func main() {
	v, err := lintinputs.Analyze()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("fixedlints_gen.go", lintinputs.Source(lintinputs.Fixed(v)), 0o644); err != nil {
		log.Fatal(err)
	}
}
