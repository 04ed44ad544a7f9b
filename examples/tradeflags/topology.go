package main

import (
	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Default topics, and the store, of the application.
const (
	EventsTopic  = "player-events"
	AlertsTopic  = "alerts"
	HistoryStore = "player-history"
)

// Topology reads the logins and trades of the events topic, keyed by
// player id, keeps each player's History in the HistoryStore store
// (persistent, and logged to "<application id>-player-history-changelog",
// so it survives restarts and moves with its partition) and writes an
// Alert to the alerts topic for every trade the rule flags.
func Topology(events, alerts string) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder(HistoryStore, serde.String, serde.Serde[History](historySerde{})))
	dsl.Stream(b, events, serde.String, eventSerde, dsl.Named("events")).
		ProcessValues(processor.SupplierFunc[string, Event, string, Alert](func() processor.Processor[string, Event, string, Alert] {
			return &detector{}
		}), dsl.WithStores(HistoryStore), dsl.Named("detect")).
		To(alerts, dsl.ProducedWith(serde.String, alertSerde), dsl.Named("alerts"))
	return b.Build()
}
