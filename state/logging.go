package state

// NewChangeLoggingStore returns a store that applies every Put and Delete to
// inner and then hands it to logger (a Delete as value nil, a tombstone).
// Writing inner first means a failed write is never logged; a failed log
// call is returned and fails the task, whose changelog transaction (or
// restore from the last committed offset) then repairs inner. Reads, ranges,
// Flush and Close go straight to inner.
func NewChangeLoggingStore(inner KeyValueBytesStore, logger ChangeLogger) KeyValueBytesStore {
	return &changeLoggingStore{KeyValueBytesStore: inner, logger: logger}
}

type changeLoggingStore struct {
	KeyValueBytesStore
	logger ChangeLogger
}

func (s *changeLoggingStore) Put(key, value []byte) error {
	if err := s.KeyValueBytesStore.Put(key, value); err != nil {
		return err
	}
	if err := s.logger.LogChange(key, value); err != nil {
		return storeErr(s.Name(), "log change", err)
	}
	return nil
}

func (s *changeLoggingStore) Delete(key []byte) error {
	if err := s.KeyValueBytesStore.Delete(key); err != nil {
		return err
	}
	if err := s.logger.LogChange(key, nil); err != nil {
		return storeErr(s.Name(), "log change", err)
	}
	return nil
}
