package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// joinRun drives JoinTopology: logins and trades on topics of their own.
type joinRun struct {
	t              *testing.T
	td             *testdriver.Driver
	logins, trades *testdriver.TestInputTopic[string, Event]
	alerts         *testdriver.TestOutputTopic[string, Alert]
	now            time.Time
}

func newJoinRun(t *testing.T, opts ...testdriver.Option) *joinRun {
	topo, err := JoinTopology(LoginsTopic, TradesTopic, AlertsTopic)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, topo, opts...)
	return &joinRun{
		t:      t,
		td:     td,
		logins: testdriver.InputTopic(td, LoginsTopic, serde.String, eventSerde),
		trades: testdriver.InputTopic(td, TradesTopic, serde.String, eventSerde),
		alerts: testdriver.OutputTopic(td, AlertsTopic, serde.String, alertSerde),
		now:    time.UnixMilli(1_700_000_000_000),
	}
}

// pipe writes each event of player to its topic, a second apart, and
// returns the alerts they caused.
func (r *joinRun) pipe(player string, evs ...Event) []Alert {
	r.t.Helper()
	for _, ev := range evs {
		r.now = r.now.Add(time.Second)
		in := r.trades
		if ev.Kind == KindLogin {
			in = r.logins
		}
		in.PipeInputAt(player, ev, r.now)
	}
	return r.alerts.ReadValuesToList()
}

func TestJoinVariant(t *testing.T) {
	stores(t, func(t *testing.T, opts ...testdriver.Option) {
		r := newJoinRun(t, opts...)
		// A login updates the table and emits nothing.
		if got := r.pipe("p", login("10.0.0.1")); len(got) != 0 {
			t.Fatalf("a login emitted %v", got)
		}
		r.pipe("p", usual(MinTrades, "10.0.0.1", 100)...)
		// Big, from the last login's address: not flagged.
		if got := r.pipe("p", trade("10.0.0.1", 5000)); len(got) != 0 {
			t.Errorf("big trade from the last login's address flagged: %v", got)
		}
		// Big, from an address never logged in from: flagged.
		got := r.pipe("p", trade("203.0.113.7", 9000))
		if len(got) != 1 || got[0].IP != "203.0.113.7" || !strings.Contains(got[0].Reason, "the last login came from 10.0.0.1") {
			t.Fatalf("big trade from a new address: alerts %v, want one naming the last login", got)
		}
		// Usual, from a new address: not flagged.
		if got := r.pipe("p", trade("198.51.100.1", 150)); len(got) != 0 {
			t.Errorf("usual trade from a new address flagged: %v", got)
		}

		// What the join cannot do: a second device logs in, then the
		// first trades big. Its address is one of the last logins, so
		// Topology lets it be; the join sees only the last login.
		evs := append([]Event{login("10.5.0.1")}, usual(MinTrades, "10.5.0.1", 100)...)
		evs = append(evs, login("10.5.0.2"), trade("10.5.0.1", 5000))
		if got := r.pipe("two-devices", evs...); len(got) != 1 || !strings.Contains(got[0].Reason, "the last login came from 10.5.0.2") {
			t.Errorf("join variant, trade from the login before last: alerts %v, want one (the limit of a latest-value table)", got)
		}
		one := newDetectorRun(t, opts...)
		if got := one.pipe("two-devices", evs...); len(got) != 0 {
			t.Errorf("one-topic variant, trade from the login before last: alerts %v, want none", got)
		}

		// No login at all: LeftJoinTable finds no row, so any address is
		// new.
		r.pipe("ghost", usual(MinTrades, "10.6.0.1", 100)...)
		if got := r.pipe("ghost", trade("10.6.0.1", 5000)); len(got) != 1 || !strings.Contains(got[0].Reason, "no login seen") {
			t.Errorf("big trade of a player with no login: alerts %v, want one saying no login was seen", got)
		}
		if got := r.td.DroppedRecords(); len(got) != 0 {
			t.Errorf("dropped %v", got)
		}

		// The table and the trade history survive a crash.
		r.td.CrashLosingState()
		if got := r.pipe("p", trade("10.0.0.1", 50000)); len(got) != 0 {
			t.Errorf("after a crash, big trade from the last login's address flagged: %v", got)
		}
		if got := r.pipe("p", trade("203.0.113.8", 90000)); len(got) != 1 {
			t.Errorf("after a crash, big trade from a new address: %d alerts, want 1", len(got))
		}
	})
}

// The race of two topics: a player logs in from a new device and trades
// big from it at once, but the trade reaches the task before the login,
// as when the task has fetched the trades partition and not yet the
// logins one. With max.task.idle 0 the task processes the trade at once,
// against the login before, and flags it; waiting for the empty logins
// input lets the record chooser take the login first, by its timestamp.
func TestJoinVariantRace(t *testing.T) {
	epoch := time.UnixMilli(1_700_000_000_000)
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		idle time.Duration
		want int
	}{{0, 1}, {time.Second, 0}} {
		t.Run(fmt.Sprintf("max-task-idle=%v", tc.idle), func(t *testing.T) {
			r := newJoinRun(t, testdriver.WithWallClock(epoch), testdriver.WithMaxTaskIdle(tc.idle))
			r.logins.PipeInputAt("p", login("10.0.0.1"), at(0))
			for i := range MinTrades {
				r.trades.PipeInputAt("p", trade("10.0.0.1", 100), at(1+i))
			}
			// Written as login at 10s, trade at 11s; arriving the other
			// way round.
			r.trades.PipeInputAt("p", trade("10.0.0.2", 5000), at(11))
			r.logins.PipeInputAt("p", login("10.0.0.2"), at(10))
			r.td.AdvanceWallClockTime(2 * tc.idle)
			if got := r.alerts.ReadValuesToList(); len(got) != tc.want {
				t.Errorf("alerts %v, want %d", got, tc.want)
			}
		})
	}
}
