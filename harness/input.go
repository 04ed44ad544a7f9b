package harness

import (
	"fmt"
	"strconv"
)

// InputTopic is the topic the generator writes and the application reads.
const InputTopic = "data"

// Guarantee is the processing guarantee the application runs under, spelled
// as Kafka Streams' processing.guarantee.
type Guarantee string

const (
	ExactlyOnce Guarantee = "exactly_once_v2"
	AtLeastOnce Guarantee = "at_least_once"
)

// Input is what the generator wrote: per key, the values in the order they
// were written. The generator alone writes it; the verifier only reads it.
type Input struct {
	// Keys are "k0".."k<N-1>", in index order.
	Keys []string
	// Values are the values written per key, in order.
	Values map[string][]int64
	// Times are the timestamps of those records, in milliseconds.
	Times map[string][]int64
	// Partition is the partition of InputTopic each key was written to.
	Partition map[string]int32
}

func newInput(keys int) *Input {
	in := &Input{
		Values:    make(map[string][]int64, keys),
		Times:     make(map[string][]int64, keys),
		Partition: make(map[string]int32, keys),
	}
	for i := range keys {
		k := "k" + strconv.Itoa(i)
		in.Keys = append(in.Keys, k)
		in.Values[k] = nil
	}
	return in
}

// Records is the number of records written.
func (in *Input) Records() int {
	n := 0
	for _, vs := range in.Values {
		n += len(vs)
	}
	return n
}

// origin says which input a value is: its key and its position (1-based)
// among that key's values. Values are seq*N+i for the key with index i, so
// the value alone names its input.
func (in *Input) origin(v int64) (key string, seq int, ok bool) {
	n := int64(len(in.Keys))
	if n == 0 || v < n {
		return "", 0, false
	}
	i, s := v%n, v/n
	key = in.Keys[i]
	if s > int64(len(in.Values[key])) || in.Values[key][s-1] != v {
		return "", 0, false
	}
	return key, int(s), true
}

// Record is one record read back from an output topic.
type Record struct {
	Key       string
	Value     []byte
	Timestamp int64 // milliseconds
	Partition int32
	Offset    int64
}

func (r Record) String() string {
	return fmt.Sprintf("partition %d offset %d", r.Partition, r.Offset)
}

// findings collects the violations of one check, keeping the first few
// sentences in full and counting the rest, so that one systematic bug does
// not bury the report.
type findings struct {
	prefix string
	list   []string
	more   int
}

const maxFindingsPerCheck = 12

func (f *findings) add(format string, args ...any) {
	if len(f.list) >= maxFindingsPerCheck {
		f.more++
		return
	}
	f.list = append(f.list, f.prefix+fmt.Sprintf(format, args...))
}

func (f *findings) result() []string {
	if f.more > 0 {
		return append(f.list, fmt.Sprintf("%s%d more violations like those above", f.prefix, f.more))
	}
	return f.list
}

// byKey splits the records of a topic by key, keeping their order. Records
// of one key must all be in one partition, or their order means nothing:
// a key found in two partitions is a violation.
func byKey(f *findings, recs []Record) map[string][]Record {
	out := map[string][]Record{}
	part := map[string]int32{}
	split := map[string]bool{}
	for _, r := range recs {
		if p, ok := part[r.Key]; ok && p != r.Partition && !split[r.Key] {
			split[r.Key] = true
			f.add("key %q is in partitions %d and %d: a key's records must stay in one partition", r.Key, p, r.Partition)
		}
		part[r.Key] = r.Partition
		out[r.Key] = append(out[r.Key], r)
	}
	return out
}
