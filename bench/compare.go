package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// side is one of the two programs a workload compares.
type side struct {
	label string
	// prepare, if set, runs before the side is measured (creating its
	// output topic, say).
	prepare func(ctx context.Context, round int) error
	// run starts the side for a round and returns once its work is done;
	// the outcome's stop tears it down, unmeasured.
	run func(ctx context.Context, round int) (outcome, error)
	// cleanup, if set, runs after the teardown, unmeasured: it drops the
	// side's topics so that the broker does not grow from round to round.
	cleanup func(ctx context.Context, round int) error
}

// compare measures the sides for cfg.rounds rounds, reversing their order
// every other round, prints a row per run and, with several rounds, the run
// of median rate of each side, which it returns.
func (b *bench) compare(ctx context.Context, workload string, records int64, sides []side) ([]result, error) {
	all := make([][]result, len(sides))
	for round := 1; round <= b.cfg.rounds; round++ {
		order := make([]int, len(sides))
		for i := range order {
			order[i] = i
		}
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, i := range order {
			s := sides[i]
			if s.prepare != nil {
				if err := s.prepare(ctx, round); err != nil {
					return nil, fmt.Errorf("%s %s: %w", workload, s.label, err)
				}
			}
			r, err := b.measure(ctx, workload, fmt.Sprintf("%s-%d", s.label, round), records, func(ctx context.Context) (outcome, error) {
				return s.run(ctx, round)
			})
			if err != nil {
				return nil, err
			}
			if b.cfg.rounds > 1 {
				r.label = fmt.Sprintf("%s #%d", s.label, round)
			}
			b.row(r)
			all[i] = append(all[i], r)
			if s.cleanup != nil {
				if err := s.cleanup(ctx, round); err != nil {
					return nil, fmt.Errorf("%s %s: cleanup: %w", workload, s.label, err)
				}
			}
		}
	}
	med := make([]result, len(sides))
	for i, rs := range all {
		med[i] = median(rs)
		if len(rs) > 1 {
			m := med[i]
			m.label = "median " + sides[i].label
			lo, hi := spread(rs)
			m.note = fmt.Sprintf("run of median rate; rates %.0f..%.0f over %d rounds", lo, hi, len(rs))
			if med[i].took > 0 {
				m.note = fmt.Sprintf("run of median restore rate (records/took); %.0f..%.0f over %d rounds", lo, hi, len(rs))
			}
			b.row(m)
		}
	}
	return med, nil
}

// median returns the run with the median primary rate (the lower middle
// one for an even count).
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		switch {
		case a.primaryRate() < b.primaryRate():
			return -1
		case a.primaryRate() > b.primaryRate():
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

func spread(rs []result) (lo, hi float64) {
	lo, hi = rs[0].primaryRate(), rs[0].primaryRate()
	for _, r := range rs[1:] {
		lo, hi = min(lo, r.primaryRate()), max(hi, r.primaryRate())
	}
	return lo, hi
}

// dropTopics deletes topics, and every topic whose name starts with one of
// prefixes, found by listing the broker's topics afresh; it fails if one of
// them is still listed afterwards.
func (b *bench) dropTopics(ctx context.Context, topics []string, prefixes ...string) error {
	all, err := b.listTopics(ctx)
	if err != nil {
		return err
	}
	doomed := func(t string) bool {
		if slices.Contains(topics, t) {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(t, p) {
				return true
			}
		}
		return false
	}
	var drop []string
	for _, t := range all {
		if doomed(t) {
			drop = append(drop, t)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	resp, err := b.adm.DeleteTopics(ctx, drop...)
	if err != nil {
		return fmt.Errorf("delete topics %v: %w", drop, err)
	}
	if err := resp.Error(); err != nil {
		return fmt.Errorf("delete topics %v: %w", drop, err)
	}
	if all, err = b.listTopics(ctx); err != nil {
		return err
	}
	var left []string
	for _, t := range all {
		if doomed(t) {
			left = append(left, t)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("topics %v still on the broker after deleting them", left)
	}
	return nil
}

// listTopics returns the names of the broker's topics, sorted, from a
// metadata request of its own: kadm's ListTopics answers from the client's
// metadata cache, which can miss topics the apps created since.
func (b *bench) listTopics(ctx context.Context) ([]string, error) {
	req := kmsg.NewPtrMetadataRequest() // no topics listed: all of them
	resp, err := req.RequestWith(ctx, b.admCl)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var names []string
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return nil, fmt.Errorf("list topics: %v: %w", t.Topic, err)
		}
		if t.Topic != nil && !t.IsInternal {
			names = append(names, *t.Topic)
		}
	}
	slices.Sort(names)
	return names, nil
}
