package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// HistoryLen is how many trades and how many logins of a player the
// history keeps: the latest ones.
const HistoryLen = 20

// History is what the store keeps of a player: the amounts of their last
// HistoryLen trades and the addresses of their last HistoryLen logins,
// oldest first. It is read, changed and written back for every event, so
// it is small and has a compact binary encoding (historySerde) rather
// than JSON.
type History struct {
	Trades []int64
	Logins []netip.Addr
}

// addTrade and addLogin append, dropping the oldest entry once the
// history is full.
func (h *History) addTrade(amount int64)  { h.Trades = pushCapped(h.Trades, amount) }
func (h *History) addLogin(ip netip.Addr) { h.Logins = pushCapped(h.Logins, ip) }

func pushCapped[T any](s []T, v T) []T {
	if len(s) < HistoryLen {
		return append(s, v)
	}
	copy(s, s[1:])
	s[len(s)-1] = v
	return s
}

// historyVersion is the first byte of an encoded History, so that a later
// layout can be told apart from this one when a changelog is restored.
const historyVersion = 1

var errHistory = errors.New("not a player history")

// historySerde encodes a History as a version byte, the number of trades
// and each amount as uvarints, then the number of logins and each address
// as a uvarint length and its 4 or 16 bytes: about 150 bytes for a full
// history of amounts in the thousands and IPv4 addresses, where JSON with
// the addresses as text takes about 400.
type historySerde struct{}

func (historySerde) Serialize(dst []byte, _ string, h History) ([]byte, error) {
	dst = append(dst, historyVersion)
	dst = binary.AppendUvarint(dst, uint64(len(h.Trades)))
	for _, a := range h.Trades {
		if a < 0 {
			return dst, fmt.Errorf("tradeflags: history: negative trade amount %d", a)
		}
		dst = binary.AppendUvarint(dst, uint64(a))
	}
	dst = binary.AppendUvarint(dst, uint64(len(h.Logins)))
	for _, ip := range h.Logins {
		n := len(dst)
		dst = append(dst, 0) // the length, set below: at most 16+len(zone)
		dst, _ = ip.AppendBinary(dst)
		if l := len(dst) - n - 1; l < 0x80 {
			dst[n] = byte(l)
		} else {
			return dst, fmt.Errorf("tradeflags: history: address %s too long", ip)
		}
	}
	return dst, nil
}

func (historySerde) Deserialize(topic string, data []byte) (History, error) {
	var h History
	fail := func(what string) (History, error) {
		return History{}, fmt.Errorf("tradeflags: %w (topic %q, %d bytes): %s", errHistory, topic, len(data), what)
	}
	if len(data) == 0 || data[0] != historyVersion {
		return fail("no version byte 1")
	}
	b := data[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	n, ok := next()
	if !ok || n > HistoryLen {
		return fail("bad number of trades")
	}
	if n > 0 {
		h.Trades = make([]int64, n, HistoryLen)
	}
	for i := range h.Trades {
		a, ok := next()
		if !ok || a > 1<<62 {
			return fail("bad trade amount")
		}
		h.Trades[i] = int64(a)
	}
	if n, ok = next(); !ok || n > HistoryLen {
		return fail("bad number of logins")
	}
	if n > 0 {
		h.Logins = make([]netip.Addr, n, HistoryLen)
	}
	for i := range h.Logins {
		l, ok := next()
		if !ok || l > uint64(len(b)) || h.Logins[i].UnmarshalBinary(b[:l]) != nil {
			return fail("bad login address")
		}
		b = b[l:]
	}
	if len(b) != 0 {
		return fail("trailing bytes")
	}
	return h, nil
}
