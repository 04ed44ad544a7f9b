package main

import (
	"fmt"
	"math/rand/v2"
)

// generator plays the players of the game. Every player logs in from one
// to three devices, each with an address of its own, and trades about
// their own usual amount. Honest players now and then make a big trade
// from one of the devices they logged in from lately, and a usual one from
// an address they never logged in from (a phone on a mobile network): the
// detector must let both be. A cheater, after ten to fifteen usual
// trades, makes a heist every ten to twenty trades: twenty to forty times
// their usual amount, from an address their account never logged in from
// (a stolen session). The same seed plays the same game.
type generator struct {
	rng     *rand.Rand
	players []*player
	fresh   uint32 // addresses handed out that no device has
}

type player struct {
	id      string
	cheater bool
	base    int64    // the usual amount, in gold
	devices []string // the addresses the player logs in from
	recent  []string // the addresses of the last HistoryLen logins
	trades  int
	heistAt int // the trade that is the next heist, for a cheater
}

func newGenerator(seed uint64, players, cheaters int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x7261646566))}
	cheat := g.rng.Perm(players)[:cheaters]
	for i := range players {
		p := &player{id: fmt.Sprintf("player-%03d", i+1), base: 50 + g.rng.Int64N(450)}
		for d := range 1 + g.rng.IntN(3) {
			p.devices = append(p.devices, fmt.Sprintf("10.%d.%d.%d", i/250, i%250, d+1))
		}
		g.players = append(g.players, p)
	}
	for _, i := range cheat {
		g.players[i].cheater = true
		g.players[i].heistAt = 10 + g.rng.IntN(6)
	}
	return g
}

// cheaters returns the ids of the cheaters, in player order.
func (g *generator) cheaters() []string {
	var ids []string
	for _, p := range g.players {
		if p.cheater {
			ids = append(ids, p.id)
		}
	}
	return ids
}

// next returns the next event and the player whose it is.
func (g *generator) next() (string, Event) {
	p := g.players[g.rng.IntN(len(g.players))]
	if len(p.recent) == 0 || g.rng.IntN(8) == 0 {
		ip := p.devices[g.rng.IntN(len(p.devices))]
		p.recent = pushCapped(p.recent, ip)
		return p.id, login(ip)
	}
	p.trades++
	usual := p.base/2 + g.rng.Int64N(p.base)
	switch {
	case p.cheater && p.trades >= p.heistAt:
		p.heistAt = p.trades + 10 + g.rng.IntN(11)
		return p.id, trade(g.freshIP(), p.base*(20+g.rng.Int64N(21)))
	case !p.cheater && g.rng.IntN(25) == 0:
		return p.id, trade(p.recent[g.rng.IntN(len(p.recent))], p.base*(6+g.rng.Int64N(5)))
	case g.rng.IntN(12) == 0:
		return p.id, trade(g.freshIP(), usual)
	}
	return p.id, trade(p.recent[len(p.recent)-1], usual)
}

// freshIP returns an address of 100.64.0.0/10 no one has had yet.
func (g *generator) freshIP() string {
	g.fresh++
	n := g.fresh
	return fmt.Sprintf("100.%d.%d.%d", 64+(n>>16)&63, (n>>8)&255, n&255)
}

func login(ip string) Event               { return Event{Kind: KindLogin, IP: ip} }
func trade(ip string, amount int64) Event { return Event{Kind: KindTrade, IP: ip, Amount: amount} }
