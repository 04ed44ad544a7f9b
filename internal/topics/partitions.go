package topics

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/samsa-go/samsa/internal/engine"
)

// PartitionCounts works out the partition count of every topic g reads,
// keyed by graph name, and the task count of every sub-topology, from the
// counts of the external source topics, as Setup does against a cluster.
// The test driver lays out its in-memory topics with it.
func PartitionCounts(g *engine.Graph, external map[string]int32) (map[string]int32, []int32, error) {
	return resolve(g, external)
}

// resolve works out the partition count of every topic g reads, keyed by
// graph name, from the counts of the external topics, and the task count of
// every sub-topology.
//
// A repartition topic has the count asked for in the graph if any. Otherwise,
// when it must be co-partitioned with topics whose counts are fixed (external
// topics, or repartition topics with an explicit count) it takes theirs, as
// Kafka Streams enforces; else it takes the largest count among the source
// topics of the sub-topologies writing it. Those may read repartition topics
// themselves, so counts are derived until nothing changes.
func resolve(g *engine.Graph, external map[string]int32) (map[string]int32, []int32, error) {
	counts := maps.Clone(external)
	for name, it := range g.Internal {
		if it.Partitions > 0 {
			counts[name] = it.Partitions
		}
	}
	fixed := maps.Clone(counts)

	writers := map[string][]*engine.Subtopology{}
	for _, st := range g.Subtopologies {
		for _, t := range st.SinkTopics {
			if g.IsInternal(t) {
				writers[t] = append(writers[t], st)
			}
		}
	}
	derive := func(topic string) int32 {
		var n int32
		for _, grp := range g.CopartitionGroups {
			if slices.Contains(grp, topic) {
				for _, t := range grp {
					n = max(n, fixed[t])
				}
			}
		}
		if n > 0 {
			return n
		}
		for _, st := range writers[topic] {
			for _, t := range st.SourceTopics {
				c, ok := counts[t]
				if !ok {
					return 0
				}
				n = max(n, c)
			}
		}
		return n
	}

	var pending []string
	for _, name := range slices.Sorted(maps.Keys(g.Internal)) {
		if _, ok := counts[name]; !ok {
			pending = append(pending, name)
		}
	}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var next []string
		for _, t := range pending {
			if n := derive(t); n > 0 {
				counts[t] = n
				progress = true
			} else {
				next = append(next, t)
			}
		}
		pending = next
	}
	if len(pending) > 0 {
		var errs []error
		for _, t := range pending {
			why := "no sub-topology writes to it"
			var upstream []string
			for _, st := range writers[t] {
				for _, u := range st.SourceTopics {
					if _, ok := counts[u]; !ok && !slices.Contains(upstream, u) {
						upstream = append(upstream, u)
					}
				}
			}
			if len(upstream) > 0 {
				slices.Sort(upstream)
				why = fmt.Sprintf("it depends on repartition topics of unknown size: %s", quoteAll(upstream))
			}
			errs = append(errs, &topicError{kind: ErrUnresolved, msg: fmt.Sprintf("cannot work out the partition count of repartition topic %q: %s", t, why)})
		}
		return nil, nil, joinErrs(errs)
	}

	var errs []error
	// Indexed by sub-topology id; the ids of global stores, which make no
	// tasks, stay 0.
	tasks := make([]int32, g.IDs)
	checked := map[string]bool{}
	for _, st := range g.Subtopologies {
		checked[strings.Join(st.SourceTopics, "\x00")] = true
		n, ok := common(st.SourceTopics, counts)
		if !ok {
			errs = append(errs, &topicError{kind: ErrNotCopartitioned, msg: fmt.Sprintf("sub-topology %d reads topics not co-partitioned: %s", st.ID, describe(st.SourceTopics, counts))})
		}
		tasks[st.ID] = n
	}
	for _, grp := range g.CopartitionGroups {
		key := strings.Join(grp, "\x00")
		if checked[key] {
			continue
		}
		checked[key] = true
		if _, ok := common(grp, counts); !ok {
			errs = append(errs, &topicError{kind: ErrNotCopartitioned, msg: fmt.Sprintf("topics that must be co-partitioned are not: %s", describe(grp, counts))})
		}
	}
	if len(errs) > 0 {
		return nil, nil, joinErrs(errs)
	}
	return counts, tasks, nil
}

// common returns the partition count the known topics share, and whether
// they share one.
func common(topics []string, counts map[string]int32) (int32, bool) {
	var n int32
	for _, t := range topics {
		c, ok := counts[t]
		if !ok {
			continue
		}
		if n != 0 && c != n {
			return 0, false
		}
		n = c
	}
	return n, true
}

// describe lists topics with their counts: "a" (3 partitions), "b" (1 partition).
func describe(topics []string, counts map[string]int32) string {
	parts := make([]string, 0, len(topics))
	for _, t := range topics {
		c, ok := counts[t]
		switch {
		case !ok:
			parts = append(parts, fmt.Sprintf("%q (unknown)", t))
		case c == 1:
			parts = append(parts, fmt.Sprintf("%q (1 partition)", t))
		default:
			parts = append(parts, fmt.Sprintf("%q (%d partitions)", t, c))
		}
	}
	return strings.Join(parts, ", ")
}

func quoteAll(ts []string) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = fmt.Sprintf("%q", t)
	}
	return strings.Join(q, ", ")
}
