package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// detectorRun drives Topology with a clock a second per event.
type detectorRun struct {
	t      *testing.T
	td     *testdriver.Driver
	in     *testdriver.TestInputTopic[string, Event]
	alerts *testdriver.TestOutputTopic[string, Alert]
}

func newDetectorRun(t *testing.T, opts ...testdriver.Option) *detectorRun {
	topo, err := Topology(EventsTopic, AlertsTopic)
	if err != nil {
		t.Fatal(err)
	}
	td := testdriver.New(t, topo, opts...)
	return &detectorRun{
		t:      t,
		td:     td,
		in:     testdriver.InputTopic(td, EventsTopic, serde.String, eventSerde).AutoAdvance(time.Second),
		alerts: testdriver.OutputTopic(td, AlertsTopic, serde.String, alertSerde),
	}
}

// pipe writes the events of player and returns the alerts they caused.
func (r *detectorRun) pipe(player string, evs ...Event) []Alert {
	r.t.Helper()
	for _, ev := range evs {
		r.in.PipeInput(player, ev)
	}
	return r.alerts.ReadValuesToList()
}

// usual is n trades of amount from ip.
func usual(n int, ip string, amount int64) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = trade(ip, amount)
	}
	return evs
}

func history(t *testing.T, td *testdriver.Driver, player string) History {
	t.Helper()
	h, ok, err := testdriver.KeyValueStore[string, History](td, HistoryStore).Get(player)
	if err != nil || !ok {
		t.Fatalf("history of %s: found %v, err %v", player, ok, err)
	}
	return h
}

func stores(t *testing.T, f func(t *testing.T, opts ...testdriver.Option)) {
	t.Run("memory", func(t *testing.T) { f(t) })
	t.Run("pebble", func(t *testing.T) { f(t, testdriver.WithPebbleStores()) })
}

func TestDetector(t *testing.T) {
	stores(t, func(t *testing.T, opts ...testdriver.Option) {
		r := newDetectorRun(t, opts...)
		// An honest player: usual trades, a big one from the address
		// they logged in from, a usual one from an address they never
		// logged in from (a phone on a mobile network).
		honest := []Event{login("10.0.0.1")}
		honest = append(honest, usual(8, "10.0.0.1", 100)...)
		honest = append(honest, trade("10.0.0.1", 2000), trade("172.16.9.9", 150), login("10.0.0.2"), trade("10.0.0.2", 5000))
		if got := r.pipe("honest", honest...); len(got) != 0 {
			t.Fatalf("honest player flagged: %v", got)
		}

		// A cheater: the same at first, then a big trade from an
		// address none of their logins came from.
		r.pipe("cheater", login("10.1.0.1"))
		r.pipe("cheater", usual(6, "10.1.0.1", 100)...)
		got := r.pipe("cheater", trade("203.0.113.7", 900))
		if len(got) != 1 {
			t.Fatalf("cheater's trade of 900 after six of 100, from a new address: %d alerts, want 1", len(got))
		}
		a := got[0]
		if a.Player != "cheater" || a.Amount != 900 || a.IP != "203.0.113.7" || a.Mean != 100 ||
			!strings.Contains(a.Reason, "9.0× the mean 100.0 of the last 6 trades") || !strings.Contains(a.Reason, "none of the last 1 logins") {
			t.Errorf("alert = %+v", a)
		}
		// Big, but from the address of the last login: not flagged.
		if got := r.pipe("cheater", trade("10.1.0.1", 5000)); len(got) != 0 {
			t.Errorf("big trade from a known address flagged: %v", got)
		}
		// New address, usual amount: not flagged.
		if got := r.pipe("cheater", trade("198.51.100.1", 120)); len(got) != 0 {
			t.Errorf("usual trade from a new address flagged: %v", got)
		}
		// Five times the mean is not more than five times.
		for amount, want := range map[int64]int{Factor * 100: 0, Factor*100 + 1: 1} {
			player := fmt.Sprintf("edge-%d", amount)
			r.pipe(player, login("10.3.0.1"))
			r.pipe(player, usual(MinTrades, "10.3.0.1", 100)...)
			if got := r.pipe(player, trade("198.51.100.2", amount)); len(got) != want {
				t.Errorf("trade of %d from a new address after %d of 100: %d alerts, want %d", amount, MinTrades, len(got), want)
			}
		}

		// An IPv4 address mapped into IPv6 is the IPv4 address.
		if got := r.pipe("cheater", trade("::ffff:10.1.0.1", 50000)); len(got) != 0 {
			t.Errorf("big trade from a known address written as IPv6 flagged: %v", got)
		}
		// No login at all: any address is new.
		r.pipe("ghost", usual(MinTrades, "10.4.0.1", 100)...)
		if got := r.pipe("ghost", trade("10.4.0.1", 1000)); len(got) != 1 || !strings.HasSuffix(got[0].Reason, "from 10.4.0.1, no login seen") {
			t.Errorf("big trade of a player never logged in: alerts %v, want one saying no login was seen", got)
		}

		// Too few trades for a mean: not flagged.
		r.pipe("newcomer", login("10.2.0.1"))
		if got := r.pipe("newcomer", append(usual(MinTrades-1, "10.2.0.1", 10), trade("203.0.113.8", 10000))...); len(got) != 0 {
			t.Errorf("flagged after %d trades: %v", MinTrades-1, got)
		}
		h := history(t, r.td, "cheater")
		if len(h.Trades) != 10 || h.Trades[6] != 900 || !slices.Equal(h.Logins, []netip.Addr{netip.MustParseAddr("10.1.0.1")}) {
			t.Errorf("cheater's history = %+v", h)
		}
	})
}

// Bad events are dropped and counted; they change no history.
func TestDetectorDropsBadEvents(t *testing.T) {
	r := newDetectorRun(t)
	r.pipe("p", login("10.0.0.1"))
	for _, ev := range []Event{{Kind: "logout", IP: "10.0.0.1"}, trade("10.0.0.1", 0), trade("10.0.0.1", -5), login(""), login("10.0.0.256")} {
		r.pipe("p", ev)
	}
	r.in.PipeTombstone("p")
	if got := r.td.DroppedRecords(); got[DropBadEvent] != 5 || got[processor.DropNullValue] != 1 {
		t.Errorf("dropped = %v, want 5 %s and 1 %s", got, DropBadEvent, processor.DropNullValue)
	}
	if h := history(t, r.td, "p"); len(h.Trades) != 0 || len(h.Logins) != 1 {
		t.Errorf("history after bad events = %+v", h)
	}
}

// The history keeps the last HistoryLen trades and logins: a login
// address older than that is new again, and the mean is that of the last
// HistoryLen trades only.
func TestHistoryCapped(t *testing.T) {
	stores(t, func(t *testing.T, opts ...testdriver.Option) {
		r := newDetectorRun(t, opts...)
		evs := []Event{login("10.9.9.9")}
		for i := range HistoryLen {
			evs = append(evs, login(fmt.Sprintf("10.0.0.%d", i+1)))
		}
		evs = append(evs, usual(HistoryLen, "10.0.0.1", 1000)...)
		evs = append(evs, usual(HistoryLen, "10.0.0.1", 10)...)
		if got := r.pipe("p", evs...); len(got) != 0 {
			t.Fatalf("alerts while the history filled: %v", got)
		}
		h := history(t, r.td, "p")
		if len(h.Logins) != HistoryLen || h.Logins[0].String() != "10.0.0.1" || h.Logins[HistoryLen-1].String() != "10.0.0.20" {
			t.Errorf("logins = %v, want 10.0.0.1 to 10.0.0.20", h.Logins)
		}
		if len(h.Trades) != HistoryLen || slices.ContainsFunc(h.Trades, func(a int64) bool { return a != 10 }) {
			t.Errorf("trades = %v, want %d of 10", h.Trades, HistoryLen)
		}
		// 100 is 10× the mean of the last 20 (10), though not of all 40
		// (505); 10.9.9.9 was the first of 21 logins.
		got := r.pipe("p", trade("10.9.9.9", 100))
		if len(got) != 1 || got[0].Mean != 10 {
			t.Fatalf("trade of 100 from the 21st last login's address: alerts %v, want one over a mean of 10", got)
		}
	})
}

// A crash loses nothing committed: the history is restored from the
// changelog, from Pebble's last offset or, with the local state lost,
// from the start.
func TestHistorySurvivesCrash(t *testing.T) {
	stores(t, func(t *testing.T, opts ...testdriver.Option) {
		r := newDetectorRun(t, opts...)
		r.pipe("cheater", login("10.1.0.1"))
		r.pipe("cheater", usual(6, "10.1.0.1", 100)...)

		r.td.Crash()
		if got := r.pipe("cheater", trade("203.0.113.7", 900)); len(got) != 1 {
			t.Fatalf("after a crash, the heist raised %d alerts, want 1: the history was lost", len(got))
		}
		r.td.CrashLosingState()
		if got := r.pipe("cheater", trade("10.1.0.1", 5000)); len(got) != 0 {
			t.Errorf("after a crash losing the local state, a big trade from a known address was flagged: %v", got)
		}
		if got := r.pipe("cheater", trade("203.0.113.9", 9000)); len(got) != 1 {
			t.Errorf("after a crash losing the local state, the heist raised %d alerts, want 1", len(got))
		}
		if h := history(t, r.td, "cheater"); len(h.Trades) != 9 || len(h.Logins) != 1 {
			t.Errorf("history after the crashes = %+v, want 9 trades and 1 login", h)
		}
	})
}

func TestHistorySerde(t *testing.T) {
	full := History{}
	for i := range HistoryLen {
		full.addTrade(int64(100 + i))
		full.addLogin(netip.MustParseAddr(fmt.Sprintf("192.168.1.%d", i)))
	}
	for _, h := range []History{{}, {Trades: []int64{1}}, {Logins: []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1%eth0")}}, full} {
		b, err := historySerde{}.Serialize(nil, "t", h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := historySerde{}.Deserialize("t", b)
		if err != nil || !slices.Equal(got.Trades, h.Trades) || !slices.Equal(got.Logins, h.Logins) {
			t.Errorf("round trip of %+v = %+v, %v", h, got, err)
		}
	}
	b, _ := historySerde{}.Serialize(nil, "t", full)
	if len(b) > 150 {
		t.Errorf("a full history takes %d bytes", len(b))
	}
	for _, bad := range [][]byte{nil, {2, 0, 0}, {1, 21}, {1, 1}, {1, 0, 1, 5, 'a'}, {1, 0, 1, 3, 1, 2, 3}, {1, 0, 0, 0}} {
		if _, err := (historySerde{}).Deserialize("t", bad); err == nil || !strings.Contains(err.Error(), `not a player history (topic "t"`) {
			t.Errorf("Deserialize(%v) err = %v", bad, err)
		}
	}
}
