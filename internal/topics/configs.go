package topics

import "maps"

// withConfigs returns defaults with the topic configs the topology declared
// for a topic set over them.
func withConfigs(defaults map[string]*string, declared map[string]string) map[string]*string {
	if len(declared) == 0 {
		return defaults
	}
	out := maps.Clone(defaults)
	for k, v := range declared {
		out[k] = &v
	}
	return out
}
