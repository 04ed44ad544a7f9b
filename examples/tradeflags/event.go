package main

import "github.com/samsa-go/samsa/serde"

// Kinds of Event.
const (
	KindLogin = "login"
	KindTrade = "trade"
)

// Event is what a player does, as the game servers write it, keyed by
// player id: a login from an address, or a trade of an amount of gold made
// from an address.
type Event struct {
	Kind   string `json:"kind"`
	IP     string `json:"ip"`
	Amount int64  `json:"amount,omitempty"` // trades only, in gold
}

// Alert is a flagged trade, keyed by player id on the alerts topic.
type Alert struct {
	Player string  `json:"player"`
	Amount int64   `json:"amount"`
	IP     string  `json:"ip"`
	Mean   float64 `json:"mean"` // of the trades before this one
	Reason string  `json:"reason"`
}

// The serdes of the topics: JSON, which any consumer of the alerts reads.
var (
	eventSerde = serde.JSON[Event]()
	alertSerde = serde.JSON[Alert]()
)
