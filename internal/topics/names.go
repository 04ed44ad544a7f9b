package topics

import "github.com/samsa-go/samsa/internal/engine"

// RepartitionTopic is the broker name of the graph's repartition topic name,
// which already ends in "-repartition".
func RepartitionTopic(appID, name string) string { return appID + "-" + name }

// ChangelogTopic is the broker name of the changelog of store.
func ChangelogTopic(appID, store string) string { return engine.ChangelogTopic(appID, store) }
