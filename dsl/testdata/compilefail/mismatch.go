//go:build samsa_compilefail

// Package compilefail holds DSL calls with options that do not fit where
// they are passed. It must not compile: TestOptionsAreTyped builds it and
// checks that each line with a want comment fails with an error that
// contains every quoted text of the comment (the type given and the type
// expected), and that no other line fails.
package compilefail

import (
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
)

type region struct{ Name string }

var pass processor.Func[string, string, string, string]

func mismatches(b *dsl.Builder) {
	s := dsl.Stream(b, "in", serde.String, serde.String)

	// A serde of the wrong type.
	s.To("out", dsl.ProducedWith(serde.String, serde.Int64))        // want "Produced[string, int64]" "Produced[string, string]"
	s.Repartition(dsl.RepartitionedWith(serde.Int64, serde.String)) // want "Repartitioned[int64, string]" "Repartitioned[string, string]"
	s.GroupByKey(dsl.GroupedWith(serde.String, serde.Int64))        // want "Grouped[string, int64]" "Grouped[string, string]"
	s.GroupBy(func(_, v string) region { return region{v} },
		dsl.GroupedWith(serde.String, serde.String)) // want "Grouped[string, string]" "Grouped[region, string]"
	s.GroupByKey().Reduce(func(a, v string) string { return a + v },
		dsl.MaterializedWith(serde.String, serde.Int64)) // want "Materialized[string, int64]" "Materialized[string, string]"
	dsl.MaterializedAs[string, int64]("counts").WithValueSerde(serde.String) // want "serde.Serde[string]" "serde.Serde[int64]"

	// A store of the wrong type.
	s.GroupByKey().Count(dsl.MaterializedAs[string, string]("counts"))                      // want "Materialized[string, string]" "Materialized[string, int64]"
	dsl.Table(b, "in2", serde.String, serde.String, dsl.MaterializedAs[string, int64]("t")) // want "Materialized[string, int64]" "Materialized[string, string]"

	// A parameter object where another is taken.
	s.To("out", dsl.MaterializedAs[string, string]("x"))                                          // want "Materialized[string, string]" "Produced[string, string]"
	dsl.Stream(b, "in3", serde.String, serde.String, dsl.MaterializedAs[string, string]("x"))     // want "Materialized[string, string]" "Consumed[string, string]"
	dsl.Table(b, "in4", serde.String, serde.String, dsl.ProducedWith(serde.String, serde.String)) // want "Produced[string, string]" "Materialized[string, string]"
	s.Repartition(dsl.GroupedWith(serde.String, serde.String))                                    // want "Grouped[string, string]" "Repartitioned[string, string]"
	s.GroupByKey().Count(dsl.GroupedWith(serde.String, serde.String))                             // want "Grouped[string, string]" "Materialized[string, int64]"
	s.Process(pass, dsl.MaterializedAs[string, string]("x"))                                      // want "Materialized[string, string]" "Processed"

	// A parameter object where only Named is taken.
	s.Filter(func(_, _ string) bool { return true }, dsl.ProducedWith(serde.String, serde.String)) // want "Produced[string, string]" "Option value"
	s.MapValues(func(v string) int64 { return 0 }, dsl.WithStores("x"))                            // want "Processed" "Option value"
	s.GroupByKey().Count().ToStream(dsl.MaterializedAs[string, int64]("x"))                        // want "Materialized[string, int64]" "Option value"
}
