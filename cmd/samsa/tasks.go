package main

import (
	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/topology"
)

// taskNames names the task that reads a partition: task s_p runs
// sub-topology s on partition p of each of its source topics. Which
// sub-topology reads a topic only the application's topology says: the
// group does not. Members' join metadata lists the tasks they owned, but a
// member owning tasks of two sub-topologies on one partition number (the
// usual case) leaves its topics ambiguous, and assignments list partitions
// only.
type taskNames struct {
	sub map[string]int // broker topic name => sub-topology
}

// fromDescription maps every topic the description reads, under its name
// and under the "<application id>-<name>" the runtime gives repartition
// topics: a description does not say which topics are internal, and an
// application's topic is never named after its own id by accident.
func fromDescription(d topology.Description, appID string) taskNames {
	m := map[string]int{}
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
			for _, t := range n.Topics {
				m[t] = st.ID
				m[appID+"-"+t] = st.ID
			}
		}
	}
	return taskNames{sub: m}
}

// task returns the id of the task that reads partition p of topic, or ""
// when it is not known.
func (n taskNames) task(topic string, p int32) string {
	s, ok := n.sub[topic]
	if !ok {
		return ""
	}
	return assign.TaskID{Subtopology: s, Partition: p}.String()
}
