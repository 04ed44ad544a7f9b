package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Source topics that disappear. A consumer whose topic was deleted keeps
// fetching it, each fetch refused, and one whose topic was recreated under
// the same name reads a topic its committed offsets do not belong to: Kafka
// Streams stops with MissingSourceTopicException instead. The app looks up
// its source topics, with their topic ids, every sourceCheckInterval: a
// topic missing, or with another id than when the app started, moves the
// app to ERROR with a *MissingSourceTopicError within about that interval.

// sourceCheckInterval is how often the app looks up its source topics.
const sourceCheckInterval = 2 * time.Second

// sourceIDs looks up the ids of the external source topics, which Setup
// found; topics of brokers that give no ids are not watched for
// recreation.
func (a *App) sourceIDs(ctx context.Context) (map[string]kadm.TopicID, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.timeout)
	defer cancel()
	topics := a.externalSources()
	td, err := a.lookupTopics(ctx, topics)
	if err != nil {
		return nil, fmt.Errorf("runtime: looking up the source topics: %w", err)
	}
	ids := map[string]kadm.TopicID{}
	for _, t := range topics {
		if d, ok := td[t]; ok && d.Err == nil {
			ids[t] = d.ID
		}
	}
	return ids, nil
}

// externalSources lists the source topics the app does not own.
func (a *App) externalSources() []string {
	var out []string
	for real, logical := range a.logical {
		if !a.graph.IsInternal(logical) {
			out = append(out, real)
		}
	}
	slices.Sort(out)
	return out
}

// watchSources checks the source topics until ctx is done, and sends the
// first error found to fatal. Lookups that fail (the brokers are away) are
// no finding: the check goes on, and the app's rate-limited log says why.
func (a *App) watchSources(ctx context.Context, ids map[string]kadm.TopicID, fatal chan<- error) {
	tick := time.NewTicker(sourceCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := a.checkSources(ctx, ids); err != nil {
			if errors.Is(err, ErrMissingSourceTopic) {
				fatal <- err
				return
			}
			if ctx.Err() == nil {
				a.log.Warn("looking up the source topics", "err", err)
			}
		}
	}
}

// checkSources looks up the source topics once: it returns a
// *MissingSourceTopicError for the first (by name) that is missing or was
// recreated, or the error of the lookup.
func (a *App) checkSources(ctx context.Context, ids map[string]kadm.TopicID) error {
	ctx, cancel := context.WithTimeout(ctx, sourceCheckInterval)
	defer cancel()
	topics := slices.Sorted(maps.Keys(ids))
	td, err := a.lookupTopics(ctx, topics)
	if err != nil {
		return err
	}
	for _, t := range topics {
		d, ok := td[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			return &MissingSourceTopicError{Topic: t}
		case d.Err != nil:
			return d.Err
		case d.ID != ids[t] && d.ID != (kadm.TopicID{}):
			return &MissingSourceTopicError{Topic: t, Recreated: true, OldID: ids[t].String(), NewID: d.ID.String()}
		}
	}
	return nil
}

// lookupTopics asks a broker for topics, past the client's metadata cache,
// which would hide a deletion for as long as it keeps an answer, and
// without creating them on a broker that creates topics on request.
func (a *App) lookupTopics(ctx context.Context, topics []string) (map[string]kadm.TopicDetail, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, a.admCl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]kadm.TopicDetail, len(resp.Topics))
	for _, rt := range resp.Topics {
		if rt.Topic == nil {
			continue
		}
		out[*rt.Topic] = kadm.TopicDetail{Topic: *rt.Topic, ID: rt.TopicID, Err: kerr.ErrorForCode(rt.ErrorCode)}
	}
	return out, nil
}

// blame returns, for the error a thread failed with, the missing source
// topic behind it if there is one: a recreated topic can fail a thread
// (lost data, an offset out of range) before the watch finds it.
func (a *App) blame(err error, ids map[string]kadm.TopicID) error {
	if err == nil || len(ids) == 0 || errors.Is(err, ErrMissingSourceTopic) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sourceCheckInterval)
	defer cancel()
	if serr := a.checkSources(ctx, ids); errors.Is(serr, ErrMissingSourceTopic) {
		return fmt.Errorf("%w (the stream thread failed on it: %v)", serr, err)
	}
	return err
}
