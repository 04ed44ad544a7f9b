package main

import (
	"fmt"
	"slices"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/state"
)

// detector keeps each player's History in the HistoryStore and forwards
// an Alert for each trade the rule flags. It sees a player's events in the
// order they were written, logins and trades alike, because they share a
// topic and a key, hence a partition.
type detector struct {
	ctx     processor.Context[string, Alert]
	history *state.KeyValueStore[string, History]
}

func (d *detector) Init(ctx processor.Context[string, Alert]) (err error) {
	d.ctx = ctx
	d.history, err = state.GetKeyValueStore[string, History](ctx, HistoryStore)
	return err
}

func (d *detector) Process(rec processor.Record[string, Event]) error {
	switch {
	case rec.NullKey:
		d.ctx.DropRecord(processor.DropNullKey)
		return nil
	case rec.NullValue:
		d.ctx.DropRecord(processor.DropNullValue)
		return nil
	}
	ev := rec.Value
	ip, ok := parse(ev)
	if !ok {
		d.ctx.DropRecord(DropBadEvent)
		return nil
	}
	h, _, err := d.history.Get(rec.Key)
	if err != nil {
		return err
	}
	var alert *Alert
	if ev.Kind == KindLogin {
		h.addLogin(ip)
	} else {
		if mean, big := unusual(h.Trades, ev.Amount); big && !slices.Contains(h.Logins, ip) {
			logins := "no login seen"
			if len(h.Logins) > 0 {
				logins = fmt.Sprintf("an address none of the last %d logins came from", len(h.Logins))
			}
			alert = &Alert{Player: rec.Key, Amount: ev.Amount, IP: ev.IP, Mean: mean,
				Reason: fmt.Sprintf("%d gold is %.1f× the mean %.1f of the last %d trades, from %s, %s",
					ev.Amount, float64(ev.Amount)/mean, mean, len(h.Trades), ev.IP, logins)}
		}
		h.addTrade(ev.Amount)
	}
	if err := d.history.Put(rec.Key, h); err != nil {
		return err
	}
	if alert == nil {
		return nil
	}
	return d.ctx.Forward(rec.WithValue(*alert))
}

func (d *detector) Close() error { return nil }
