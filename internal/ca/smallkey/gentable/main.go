// Command gentable writes the small-key tables of package smallkey into
// the current directory; package ca runs it with go generate.
package main

import (
	"log"
	"os"

	"github.com/certorder/certorder/internal/ca/smallkey"
)

func main() {
	for _, c := range smallkey.Curves {
		if err := os.WriteFile(smallkey.File(c), smallkey.Table(c), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
