package main

import (
	"fmt"
	"net/netip"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/state"
	"github.com/samsa-go/samsa/topology"
)

// Topics and stores of the join variant.
const (
	LoginsTopic  = "logins"
	TradesTopic  = "trades"
	LoginsStore  = "last-login"
	TradesStore  = "trade-history"
	VariantJoin  = "join"
	VariantTopic = "one-topic"
)

// JoinTopology is the join variant: logins and trades on topics of their
// own. The logins topic is read as a table, the latest login of each
// player, and each trade of the trades stream is joined with its player's
// row (a stream-table LeftJoinTable: a lookup as of the moment the trade
// is processed; a login emits nothing). The amounts of each player's last
// trades are kept in the TradesStore store, as in Topology.
//
// It can check a trade's address against the last login only, not the
// last HistoryLen: a player who logs in from a second device and trades
// from the first looks new. And it is only as right as the order in which
// the two topics are read; see the README.
func JoinTopology(logins, trades, alerts string) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.KeyValueStoreBuilder(TradesStore, serde.String, serde.Serde[History](historySerde{})))
	last := dsl.Table(b, logins, serde.String, eventSerde, dsl.MaterializedAs[string, Event](LoginsStore))
	dsl.Stream(b, trades, serde.String, eventSerde, dsl.Named("trades")).
		LeftJoinTable(last, func(trade, login Event, found bool) joinedTrade {
			ip, ok := addr(login.IP)
			return joinedTrade{Event: trade, LastLogin: ip, LoggedIn: found && ok}
		}, dsl.Named("last-login-of-trade")).
		ProcessValues(processor.SupplierFunc[string, joinedTrade, string, Alert](func() processor.Processor[string, joinedTrade, string, Alert] {
			return &joinDetector{}
		}), dsl.WithStores(TradesStore), dsl.Named("detect")).
		To(alerts, dsl.ProducedWith(serde.String, alertSerde), dsl.Named("alerts"))
	return b.Build()
}

// joinedTrade is a trade with the address of its player's last login, if
// the table has a login of the player. It never crosses bytes: the join
// and the detector run in the same task.
type joinedTrade struct {
	Event
	LastLogin netip.Addr
	LoggedIn  bool
}

// joinDetector is the detector of the join variant: the amounts as the
// detector checks them, the address against the last login only.
type joinDetector struct {
	ctx    processor.Context[string, Alert]
	trades *state.KeyValueStore[string, History]
}

func (d *joinDetector) Init(ctx processor.Context[string, Alert]) (err error) {
	d.ctx = ctx
	d.trades, err = state.GetKeyValueStore[string, History](ctx, TradesStore)
	return err
}

func (d *joinDetector) Process(rec processor.Record[string, joinedTrade]) error {
	switch {
	case rec.NullKey:
		d.ctx.DropRecord(processor.DropNullKey)
		return nil
	case rec.NullValue:
		d.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	t := rec.Value
	ip, ok := parse(t.Event)
	if !ok || t.Kind != KindTrade {
		d.ctx.DropRecord(DropBadEvent)
		return nil
	}
	h, _, err := d.trades.Get(rec.Key)
	if err != nil {
		return err
	}
	var alert *Alert
	if mean, big := unusual(h.Trades, t.Amount); big && (!t.LoggedIn || ip != t.LastLogin) {
		last := "no login seen"
		if t.LoggedIn {
			last = "the last login came from " + t.LastLogin.String()
		}
		alert = &Alert{Player: rec.Key, Amount: t.Amount, IP: t.IP, Mean: mean,
			Reason: fmt.Sprintf("%d gold is %.1f× the mean %.1f of the last %d trades, from %s; %s",
				t.Amount, float64(t.Amount)/mean, mean, len(h.Trades), t.IP, last)}
	}
	h.addTrade(t.Amount)
	if err := d.trades.Put(rec.Key, h); err != nil {
		return err
	}
	if alert == nil {
		return nil
	}
	return d.ctx.Forward(rec.WithValue(*alert))
}

func (d *joinDetector) Close() error { return nil }
