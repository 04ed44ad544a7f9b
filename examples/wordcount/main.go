// Command wordcount counts the words of the lines written to the
// "text-lines" topic and writes each updated count to "word-counts".
package main

import (
	"fmt"
	"os"
)

func main() {
	topo, err := Topology()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = topo
}
