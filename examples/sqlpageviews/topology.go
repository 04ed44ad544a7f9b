package main

import (
	_ "embed"
	"fmt"
	"time"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/sql"
	"github.com/samsa-go/samsa/topology"
)

// The topics of the application; pageviews.sql names the same ones.
const (
	PageViewsTopic = "pageviews"
	UsersTopic     = "users"
	OutputTopic    = "views-per-region"
)

// WindowSize is the tumbling window of pageviews.sql (SIZE 1 MINUTE).
const WindowSize = time.Minute

// Grace is the window grace period of pageviews.sql: views reach the count
// out of order, through a repartition topic that merges the partitions.
const Grace = time.Hour

// statements is the application in SQL.
//
//go:embed pageviews.sql
var statements string

// PageView is a page-view value, in the JSON pageviews.sql declares: ksqlDB
// writes and reads column names in upper case.
type PageView struct {
	Page string `json:"PAGE"`
}

// User is a users-table value.
type User struct {
	Region string `json:"REGION"`
}

// ViewCount is an output value, as the SQL's COUNT(*) AS views writes it.
type ViewCount struct {
	Views int64 `json:"VIEWS"`
}

// SQLTopology compiles pageviews.sql.
func SQLTopology() (*topology.Topology, error) {
	p, err := sql.Compile(statements)
	if err != nil {
		return nil, fmt.Errorf("pageviews.sql: %w", err)
	}
	return p.Topology(), nil
}

// DSLTopology is the same application written with the DSL: each view is
// joined with its user's region, regrouped by region and counted per
// minute. Its output records are byte for byte those of SQLTopology: the
// region as a string key with the window's start appended, and the count
// as JSON.
func DSLTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	views := dsl.Stream(b, PageViewsTopic, serde.String, serde.JSON[PageView]())
	users := dsl.Table(b, UsersTopic, serde.String, serde.JSON[User]())
	regions := views.JoinTable(users, func(_ PageView, u User) User { return u }).
		// The SQL drops rows whose GROUP BY column is NULL; an empty
		// region is the DSL's NULL here.
		Filter(func(_ string, u User) bool { return u.Region != "" })
	grouped := regions.GroupBy(func(_ string, u User) string { return u.Region }, dsl.GroupedWith(serde.String, serde.JSON[User]()))
	dsl.WindowedBy(grouped, dsl.TimeWindowsOfSizeAndGrace(WindowSize, Grace)).
		Count(dsl.MaterializedAs[string, int64]("views-per-region")).
		ToStream().
		MapValues(func(n int64) ViewCount { return ViewCount{Views: n} }).
		To(OutputTopic, dsl.ProducedWith(serde.TimeWindowed(serde.String, WindowSize), serde.JSON[ViewCount]()))
	return b.Build()
}

// Topology returns the application in the mode's language, "sql" or "dsl".
func Topology(mode string) (*topology.Topology, error) {
	switch mode {
	case "sql":
		return SQLTopology()
	case "dsl":
		return DSLTopology()
	}
	return nil, fmt.Errorf("mode %q: want sql or dsl", mode)
}
