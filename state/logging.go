package state

// NewChangeLoggingStore returns a store that applies every Put and Delete to
// inner and then hands it to logger (a Delete as value nil, a tombstone),
// stamped with clock's time (nil: 0). Writing inner first means a failed
// write is never logged; a failed log call is returned and fails the task,
// whose changelog transaction (or restore from the last committed offset)
// then repairs inner. Reads, ranges, Flush and Close go straight to inner.
//
// DeleteRange goes to inner and is not logged (see KeyValueBytesStore):
// the changelog drops the same records through its retention.
func NewChangeLoggingStore(inner KeyValueBytesStore, logger ChangeLogger, clock func() int64) KeyValueBytesStore {
	return &changeLoggingStore{KeyValueBytesStore: inner, logger: logger, clock: clock}
}

type changeLoggingStore struct {
	KeyValueBytesStore
	logger ChangeLogger
	clock  func() int64
	// timestamped stores hold values in the timestamped format; their
	// changelog records carry the plain value, stamped with the value's
	// own timestamp, as Kafka Streams' timestamped stores log.
	timestamped bool
	// keyPrefix is the width of what a window or session store puts in
	// front of its changelog keys (the segment id): logged keys leave it
	// out, so the changelog reads as Kafka Streams' does.
	keyPrefix int
}

func (s *changeLoggingStore) now() int64 {
	if s.clock == nil {
		return 0
	}
	return s.clock()
}

func (s *changeLoggingStore) Put(key, value []byte) error {
	ts := int64(0)
	logged := value
	if s.timestamped {
		var err error
		if ts, logged, err = splitTimestamped(value); err != nil {
			return storeErr(s.Name(), "put", err)
		}
	} else {
		ts = s.now()
	}
	if err := s.KeyValueBytesStore.Put(key, value); err != nil {
		return err
	}
	if err := s.logger.LogChange(key[s.keyPrefix:], logged, ts, nil); err != nil {
		return storeErr(s.Name(), "log change", err)
	}
	return nil
}

func (s *changeLoggingStore) Delete(key []byte) error {
	if err := s.KeyValueBytesStore.Delete(key); err != nil {
		return err
	}
	if err := s.logger.LogChange(key[s.keyPrefix:], nil, s.now(), nil); err != nil {
		return storeErr(s.Name(), "log change", err)
	}
	return nil
}

// DeleteRange is not logged: see NewChangeLoggingStore.
func (s *changeLoggingStore) DeleteRange(from, to []byte) error {
	return s.KeyValueBytesStore.DeleteRange(from, to)
}
