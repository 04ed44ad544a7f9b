package topics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/internal/engine"
)

// DefaultTimeout is the Options.Timeout used when none is set.
const DefaultTimeout = 10 * time.Second

// Options configure Setup.
type Options struct {
	// ReplicationFactor of the internal topics Setup creates, as Kafka
	// Streams' replication.factor. -1, and the zero value, take the broker's
	// default.replication.factor.
	ReplicationFactor int16
	// Timeout bounds the whole of Setup; brokers that do not answer within it
	// give ErrUnreachable. Default DefaultTimeout.
	Timeout time.Duration
}

// Layout is what Setup learned about the application's topics.
type Layout struct {
	// TaskCounts is the number of tasks, the common partition count of the
	// source topics, of each sub-topology; the index is the sub-topology id
	// (0 for the ids of global stores).
	TaskCounts []int32
	// Partitions is the partition count of every topic the application reads
	// (global stores' topics included) or owns, by broker name.
	Partitions map[string]int32
	// Changelogs maps each logged store to its changelog topic.
	Changelogs map[string]string
}

// wanted is an internal topic as the application needs it.
type wanted struct {
	topic      string
	partitions int32
	configs    map[string]*string
}

var (
	// Repartition topics keep records until the application purges them
	// (retention.ms=-1), as Kafka Streams configures them.
	repartitionConfigs = map[string]*string{
		"cleanup.policy": kadm.StringPtr("delete"),
		"retention.ms":   kadm.StringPtr("-1"),
	}
)

// changelogConfigs are the configs a store's builder asks its changelog
// topic to be created with: compacted for key-value stores, compact+delete
// with a retention for stores whose records expire.
func changelogConfigs(spec *engine.StoreSpec) map[string]*string {
	cfg := map[string]*string{}
	for k, v := range spec.Builder.ChangelogConfigs() {
		cfg[k] = kadm.StringPtr(v)
	}
	return cfg
}

// Setup looks up the topics of the graph g, run as application appID, creates
// the internal topics that are missing and checks the rest; see the package
// documentation. g must have been built. Setup is safe to run from several
// instances of the application at once.
func Setup(ctx context.Context, adm *kadm.Client, g *engine.Graph, appID string, opts Options) (*Layout, error) {
	s := &setup{adm: adm, timeout: opts.Timeout, rf: opts.ReplicationFactor}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.rf == 0 {
		s.rf = -1
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.timeout, errTimedOut)
	defer cancel()

	readers := map[string]int{} // external source topic → sub-topology
	storeSub := map[string]int{}
	for _, st := range g.Subtopologies {
		for _, t := range st.SourceTopics {
			if !g.IsInternal(t) {
				readers[t] = st.ID
			}
		}
		for _, store := range st.Stores {
			storeSub[store] = st.ID
		}
	}
	globalReaders := map[string]string{} // global store's topic → store
	for _, gs := range g.Globals {
		readers[gs.Topic] = gs.ID
		globalReaders[gs.Topic] = gs.Store
	}
	var logged []string // stores with a changelog, in graph order
	specs := map[string]*engine.StoreSpec{}
	for _, spec := range g.Stores {
		name := spec.Builder.Name()
		if _, ok := storeSub[name]; ok && spec.Builder.Logged() {
			logged = append(logged, name)
			specs[name] = spec
		}
	}

	sources := slices.Sorted(maps.Keys(readers))
	names := slices.Clone(sources)
	for name := range g.Internal {
		names = append(names, RepartitionTopic(appID, name))
	}
	for _, store := range logged {
		names = append(names, ChangelogTopic(appID, store))
	}
	details, err := s.lookup(ctx, names)
	if err != nil {
		return nil, err
	}

	external := map[string]int32{}
	var errs []error
	for _, t := range sources {
		d := details[t]
		switch {
		case errors.Is(d.Err, kerr.UnknownTopicOrPartition) && globalReaders[t] != "":
			errs = append(errs, &topicError{kind: ErrMissingSource, msg: fmt.Sprintf("source topic %q (read by global store %q) does not exist", t, globalReaders[t])})
		case errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			errs = append(errs, &topicError{kind: ErrMissingSource, msg: fmt.Sprintf("source topic %q (read by sub-topology %d) does not exist", t, readers[t])})
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("looking up source topic %q: %w", t, d.Err))
		default:
			external[t] = int32(len(d.Partitions))
		}
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}

	counts, tasks, err := resolve(g, external)
	if err != nil {
		return nil, err
	}
	layout := &Layout{TaskCounts: tasks, Partitions: external, Changelogs: map[string]string{}}
	var want []wanted
	for _, name := range slices.Sorted(maps.Keys(g.Internal)) {
		want = append(want, wanted{RepartitionTopic(appID, name), counts[name], withConfigs(repartitionConfigs, g.Internal[name].Configs)})
	}
	for _, store := range logged {
		topic := ChangelogTopic(appID, store)
		layout.Changelogs[store] = topic
		want = append(want, wanted{topic, tasks[storeSub[store]], changelogConfigs(specs[store])})
	}
	for _, w := range want {
		layout.Partitions[w.topic] = w.partitions
	}
	if err := s.ensure(ctx, want, details); err != nil {
		return nil, err
	}
	return layout, nil
}

// errTimedOut is the cause of the end of Setup's context at the timeout.
var errTimedOut = errors.New("timed out")

// setup is one run of Setup.
type setup struct {
	adm     *kadm.Client
	timeout time.Duration
	rf      int16
}

func (s *setup) lookup(ctx context.Context, topics []string) (kadm.TopicDetails, error) {
	if len(topics) == 0 { // no topics would ask for all of them
		return kadm.TopicDetails{}, nil
	}
	// kadm answers metadata requests from the client's cache, which keeps
	// even "unknown topic" answers for MetadataMinAge; one that asks for
	// authorized operations goes to the broker instead, and refreshes the
	// cache for the kadm calls that follow, such as PurgeRepartition's.
	//
	// Brokers that refuse connections may be starting along with the
	// application, so they are asked again until the timeout.
	var refused error
	for {
		details, err := s.adm.ListTopics(kadm.WithAuthorizedOps(ctx), topics...)
		if err == nil {
			return details, nil
		}
		if !unreachable(err) {
			if refused != nil && ctx.Err() != nil {
				err = refused // says more than "context deadline exceeded"
			}
			return nil, s.brokerErr(ctx, "looking up topics", err)
		}
		refused = err
		select {
		case <-ctx.Done():
			return nil, s.brokerErr(ctx, "looking up topics", err)
		case <-time.After(retryBackoff):
		}
	}
}

// unreachable reports whether err says the brokers could not be reached:
// a connection refused or cut, or closed before its first answer, which
// franz-go reports as a possible TLS mismatch but a broker shutting down
// for a restart does too.
func unreachable(err error) bool {
	var ne net.Error
	var eof *kgo.ErrFirstReadEOF
	return errors.As(err, &ne) || errors.As(err, &eof)
}

// retryBackoff is the pause between two attempts to reach the brokers.
const retryBackoff = 250 * time.Millisecond

// ensure creates the wanted topics that details lacks and checks the others.
func (s *setup) ensure(ctx context.Context, want []wanted, details kadm.TopicDetails) error {
	var create, recheck []wanted
	var failures []error
	for _, w := range want {
		d := details[w.topic]
		switch {
		case errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			create = append(create, w)
		case d.Err != nil:
			failures = append(failures, fmt.Errorf("looking up internal topic %q: %w", w.topic, d.Err))
		default:
			// An existing topic is taken as it is apart from its partition
			// count, as Kafka Streams does: a changelog that is not
			// compacted, say, still restores, and its configs are the
			// operator's choice.
			if err := check(w, d); err != nil {
				failures = append(failures, err)
			}
		}
	}
	for _, w := range create {
		_, err := s.adm.CreateTopic(ctx, w.partitions, s.rf, w.configs, w.topic)
		var ke *kerr.Error
		switch {
		case err == nil, errors.Is(err, kerr.TopicAlreadyExists):
			// Already existing, the topic was created by another
			// instance of the application that won the race.
			recheck = append(recheck, w)
		case errors.As(err, &ke):
			failures = append(failures, fmt.Errorf("creating internal topic %q: %w", w.topic, err))
		default:
			return s.brokerErr(ctx, fmt.Sprintf("creating internal topic %q", w.topic), err)
		}
	}
	if len(failures) > 0 {
		return joinErrs(failures)
	}
	return s.recheck(ctx, recheck)
}

// recheck checks topics that were just created, by this instance or
// another, once the broker we ask knows them: Kafka spreads the metadata of
// a new topic to its brokers after answering the creation.
func (s *setup) recheck(ctx context.Context, want []wanted) error {
	for len(want) > 0 {
		details, err := s.lookup(ctx, topicNames(want))
		if err != nil {
			return err
		}
		var failures []error
		var later []wanted
		for _, w := range want {
			d := details[w.topic]
			switch {
			case errors.Is(d.Err, kerr.UnknownTopicOrPartition):
				later = append(later, w)
			case d.Err != nil:
				failures = append(failures, fmt.Errorf("looking up internal topic %q: %w", w.topic, d.Err))
			default:
				if err := check(w, d); err != nil {
					failures = append(failures, err)
				}
			}
		}
		if len(failures) > 0 {
			return joinErrs(failures)
		}
		want = later
		if len(want) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return s.brokerErr(ctx, fmt.Sprintf("waiting for the new internal topics %s to appear", quoteAll(topicNames(want))), ctx.Err())
		case <-time.After(retryBackoff):
		}
	}
	return nil
}

func check(w wanted, d kadm.TopicDetail) error {
	if n := int32(len(d.Partitions)); n != w.partitions {
		return &topicError{kind: ErrPartitionMismatch, msg: fmt.Sprintf("internal topic %q has %d partitions, expected %d", w.topic, n, w.partitions)}
	}
	return nil
}

// brokerErr wraps err, from a request the brokers did not answer, as
// ErrUnreachable when the timeout passed or the network failed.
func (s *setup) brokerErr(ctx context.Context, what string, err error) error {
	if context.Cause(ctx) == errTimedOut || unreachable(err) {
		return &topicError{kind: ErrUnreachable, msg: fmt.Sprintf("brokers could not be reached within %v (%s)", s.timeout, what), cause: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func topicNames(ws []wanted) []string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.topic
	}
	return names
}
