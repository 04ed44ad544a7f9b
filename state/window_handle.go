package state

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/samsa-go/samsa/processor"
)

// windowChangelogExtraRetention is what Kafka Streams adds to a window or
// session store's retention for its changelog topic
// (windowstore.changelog.additional.retention.ms): the topic keeps a
// record a day longer than the store, so a restore finds every record the
// store could still hold, whatever clock skew between them.
const windowChangelogExtraRetention = 24 * time.Hour

// segmentedConfig is what window and session builders share.
type segmentedConfig struct {
	name             string
	retention        time.Duration
	interval         time.Duration
	noLogging        bool
	changelogConfigs map[string]string
	inMemory         bool
	timestamped      bool
}

func (c *segmentedConfig) logged() bool { return !c.noLogging }

// changelogTopicConfigs are compact,delete with the store's retention plus
// a day, and the configs given to WithLoggingEnabled over them.
func (c *segmentedConfig) changelogTopicConfigs() map[string]string {
	out := CompactDeleteChangelogConfigs(c.retention + windowChangelogExtraRetention)
	maps.Copy(out, c.changelogConfigs)
	return out
}

func (c *segmentedConfig) segmentInterval() time.Duration {
	if c.interval > 0 {
		return c.interval
	}
	return defaultSegmentInterval(c.retention)
}

// buildStack opens the bytes stack of a window or session store: the
// segmented bytes store (Pebble, or one tree per segment in memory), the
// transaction buffer under exactly-once, and change logging, which leaves
// the segment id out of the keys it logs.
func (c *segmentedConfig) buildStack(env *Env, layout segmentLayout) (*segmentedHandle, error) {
	h := &segmentedHandle{name: c.name, layout: layout, timestamped: c.timestamped}
	if env.InMemory || c.inMemory {
		h.bytes = newSegmentedMemoryStore(c.name)
	} else {
		if env.DB == nil {
			return nil, &StoreError{Store: c.name, Op: "build", Err: errors.New("environment offers no database")}
		}
		db, err := env.DB()
		if err != nil {
			return nil, storeErr(c.name, "build", err)
		}
		h.bytes = db.Store(c.name)
	}
	h.top = h.bytes
	h.segs = newSegments(c.name, layout, c.retention, c.segmentInterval())
	if err := h.segs.open(h.bytes); err != nil {
		return nil, storeErr(c.name, "open", err)
	}
	if env.Transactional {
		h.txn = NewTxnStore(h.top)
		h.top = h.txn
	}
	if c.logged() && env.Logger != nil {
		if l := env.Logger(c.name); l != nil {
			h.logging = &changeLoggingStore{KeyValueBytesStore: h.top, logger: l, clock: env.RecordTime, timestamped: c.timestamped, keyPrefix: segmentIDSize}
			h.top = h.logging
		}
	}
	h.top = metered(h.top, env.metricsOf(c.name))
	return h, nil
}

func (c *segmentedConfig) check(kind string) error {
	switch {
	case c.name == "":
		return fmt.Errorf("state: %s store builder has an empty name", kind)
	case c.retention < 0:
		return &StoreError{Store: c.name, Op: "build", Err: fmt.Errorf("retention %v is negative", c.retention)}
	case c.interval < 0 || (c.interval > 0 && c.interval < time.Millisecond):
		return &StoreError{Store: c.name, Op: "build", Err: fmt.Errorf("segment interval %v is below one millisecond", c.interval)}
	}
	return nil
}

// segmentedHandle is the task's side of a window or session store: the
// Store their builders build. The typed store it hands processors shares
// its layers but has none of its methods.
type segmentedHandle struct {
	name        string
	layout      segmentLayout
	typed       processor.StateStore
	bytes       KeyValueBytesStore // innermost
	top         KeyValueBytesStore // outermost
	txn         *TxnStore
	logging     *changeLoggingStore
	segs        *segments
	timestamped bool
	restoreBuf  []byte
	newView     func(BytesView) processor.StateStore
	view        processor.StateStore
}

func (h *segmentedHandle) Name() string                { return h.name }
func (h *segmentedHandle) Persistent() bool            { return h.bytes.Persistent() }
func (h *segmentedHandle) Typed() processor.StateStore { return h.typed }
func (h *segmentedHandle) Flush() error                { return h.top.Flush() }
func (h *segmentedHandle) Dirty() bool                 { return h.logging != nil && h.logging.unsent() }
func (h *segmentedHandle) Close() error                { return h.top.Close() }
func (h *segmentedHandle) Bytes() KeyValueBytesStore   { return h.bytes }
func (h *segmentedHandle) Txn() *TxnStore              { return h.txn }

// RestoreBatch rebuilds the segmented layout from changelog records: the
// segment comes from the window start (or session end) at the end of each
// key, a tombstone deletes, and a timestamped store's value gets the
// record's timestamp back. Records that expired by the time they are
// replayed are skipped, and segments expire as they would have while
// processing, so a restore leaves what the store held.
func (h *segmentedHandle) RestoreBatch(recs []ChangelogRecord) error {
	if h.txn != nil && h.txn.Pending() > 0 {
		return storeErr(h.name, "restore", fmt.Errorf("the transaction buffer holds %d uncommitted writes", h.txn.Pending()))
	}
	if h.txn != nil {
		// The restore writes below the buffer: what it kept of inner is stale.
		h.txn.dropClean()
	}
	bw, batched := h.bytes.(BatchWriter)
	if batched {
		bw.BeginBatch()
	}
	err := h.restore(recs)
	if batched {
		if cerr := bw.CommitBatch(); err == nil {
			err = cerr
		}
	}
	return storeErr(h.name, "restore", err)
}

func (h *segmentedHandle) restore(recs []ChangelogRecord) error {
	for i := range recs {
		r := &recs[i]
		ts, ok := h.layout.timestamp(r.Key)
		if !ok {
			return fmt.Errorf("changelog offset %d: key of %d bytes is shorter than the %d bytes of times it must end with", r.Offset, len(r.Key), h.layout.suffix)
		}
		if ts < 0 {
			return fmt.Errorf("changelog offset %d: key holds the negative time %d", r.Offset, ts)
		}
		if err := h.segs.advance(ts, h.bytes); err != nil {
			return fmt.Errorf("changelog offset %d: %w", r.Offset, err)
		}
		if h.segs.expired(ts) {
			continue
		}
		key := append(segmentBound(h.restoreBuf[:0], h.segs.id(ts)), r.Key...)
		var err error
		switch {
		case r.Value == nil:
			err = h.bytes.Delete(key)
		case h.timestamped:
			n := len(key)
			buf := append(appendTimestamped(key, r.Timestamp), r.Value...)
			key = buf[:n]
			err = h.bytes.Put(key, buf[n:])
		default:
			err = h.bytes.Put(key, r.Value)
		}
		h.restoreBuf = key[:0]
		if err != nil {
			return fmt.Errorf("changelog offset %d: %w", r.Offset, err)
		}
	}
	return nil
}

// View returns the store's read-only view (a *ReadOnlyWindowStore or a
// *ReadOnlySessionStore), made on the first call.
func (h *segmentedHandle) View() (processor.StateStore, error) {
	if h.view != nil {
		return h.view, nil
	}
	vw, ok := h.bytes.(viewer)
	if !ok {
		return nil, storeErr(h.name, "view", fmt.Errorf("a %T cannot be read from other goroutines", h.bytes))
	}
	h.view = h.newView(vw.view())
	return h.view, nil
}

var _ Store = (*segmentedHandle)(nil)
