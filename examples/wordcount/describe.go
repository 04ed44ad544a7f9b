package main

import (
	"io"

	"github.com/samsa-go/samsa/topology"
)

// describeFormats renders the topology for -describe. json is the form
// "samsa describe" and "samsa lag -topology" read.
var describeFormats = map[string]func(*topology.Topology) (string, error){
	"json": func(t *topology.Topology) (string, error) {
		b, err := t.DescribeJSON()
		return string(b) + "\n", err
	},
	"text":    func(t *topology.Topology) (string, error) { d := t.Describe(); return d.String(), d.Err() },
	"mermaid": func(t *topology.Topology) (string, error) { d := t.Describe(); return d.Mermaid(), d.Err() },
	"dot":     func(t *topology.Topology) (string, error) { d := t.Describe(); return d.DOT(), d.Err() },
}

// describe writes the topology cfg configures in the format cfg.describe,
// without touching Kafka.
func describe(w io.Writer, cfg *config) error {
	topo, err := Topology(cfg.inputTopic, cfg.outputTopic)
	if err != nil {
		return err
	}
	out, err := describeFormats[cfg.describe](topo)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}
