package state

import (
	"strconv"
	"time"
)

// CompactedChangelogConfigs returns the changelog topic configs of a
// key-value store, the default of KeyValueBuilder: cleanup.policy=compact,
// so that the topic keeps the last record of every key, which is what a
// restore needs.
func CompactedChangelogConfigs() map[string]string {
	return map[string]string{"cleanup.policy": "compact"}
}

// CompactDeleteChangelogConfigs returns the changelog topic configs of a
// store whose records expire, as window and session stores do:
// cleanup.policy=compact,delete with retention.ms set to retention (Kafka
// Streams adds windowstore.changelog.additional.retention.ms, one day by
// default, to the store's retention). Expired segments leave the store
// through DeleteRange, which writes no tombstones; the topic's retention
// drops their records instead.
func CompactDeleteChangelogConfigs(retention time.Duration) map[string]string {
	return map[string]string{
		"cleanup.policy": "compact,delete",
		"retention.ms":   strconv.FormatInt(retention.Milliseconds(), 10),
	}
}

// changelogTopic names the topic a store logs to. Serdes get it as their
// topic even when logging is off, as in Kafka Streams, so that serdes keyed
// by topic (schema registry subjects) see one stable name.
func changelogTopic(applicationID, store string) string {
	if applicationID == "" {
		return store + "-changelog"
	}
	return applicationID + "-" + store + "-changelog"
}
