package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// regions are the users' regions.
var regions = []string{"emea", "americas", "apac"}

var pages = []string{"/", "/pricing", "/docs", "/blog", "/signup"}

// record is one generated input record, for either topic.
type record struct {
	topic string
	key   string
	value string // JSON, as pageviews.sql declares
	ts    int64  // ms
}

// generate returns the users, then the page views: users user-0..users-1
// each in a region, and views page views by random users, spread evenly
// over span from start, all stamped after every user. The same seed gives
// the same records.
func generate(seed uint64, users, views int, start time.Time, span time.Duration) []record {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t0 := start.UnixMilli()
	out := make([]record, 0, users+views)
	for i := range users {
		out = append(out, record{topic: UsersTopic, key: userID(i),
			value: fmt.Sprintf(`{"REGION":%q}`, regions[r.IntN(len(regions))]), ts: t0})
	}
	step := span.Milliseconds() / int64(max(views, 1))
	for i := range views {
		out = append(out, record{topic: PageViewsTopic, key: userID(r.IntN(users)),
			value: fmt.Sprintf(`{"PAGE":%q}`, pages[r.IntN(len(pages))]), ts: t0 + 1 + int64(i)*step})
	}
	return out
}

func userID(i int) string { return fmt.Sprintf("user-%d", i) }
