package main

import "net/netip"

// The detection rule: a trade is flagged when its amount is more than
// Factor times the mean of the player's last HistoryLen trades (once there
// are MinTrades of them, so that a mean means something) and it comes from
// an address none of the player's last HistoryLen logins came from.
const (
	Factor    = 5
	MinTrades = 5
)

// DropBadEvent counts events the detector cannot use: an unknown kind, a
// trade of no gold, no IP address.
const DropBadEvent = "bad-event"

// unusual reports whether amount is more than Factor times the mean of
// trades, and the mean; never with fewer than MinTrades trades.
func unusual(trades []int64, amount int64) (mean float64, ok bool) {
	if len(trades) < MinTrades {
		return 0, false
	}
	var sum float64
	for _, a := range trades {
		sum += float64(a)
	}
	mean = sum / float64(len(trades))
	return mean, float64(amount) > Factor*mean
}

// parse returns the address of ev, and whether ev is a login or a trade
// the detector can use.
func parse(ev Event) (netip.Addr, bool) {
	if ev.Kind != KindLogin && (ev.Kind != KindTrade || ev.Amount <= 0) {
		return netip.Addr{}, false
	}
	return addr(ev.IP)
}

// addr parses an address, an IPv4 address mapped into IPv6 as the IPv4
// one, so that the two spellings of one address compare equal.
func addr(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	return ip.Unmap(), err == nil
}
