package harness

import (
	"fmt"
	"slices"
	"strconv"
)

// InputTopic is the topic the generator writes and the application reads.
const InputTopic = "data"

// TableTopic is the topic of table updates the generator writes beside
// InputTopic, with the same keys and partitioner: the application reads it
// as a table and joins the input with it.
const TableTopic = "table"

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
	// TableOffsets are the offsets, in the key's partition of TableTopic,
	// of the updates written per key: the n-th (version n, value n*N+i)
	// is at TableOffsets[key][n-1]. Only the generator writes TableTopic,
	// so its offsets run 0, 1, 2... per partition, with no gaps.
	TableOffsets map[string][]int64
	// TablePartition is the partition of TableTopic each key was written
	// to; the generator fails if it is not the key's input partition.
	TablePartition map[string]int32
}

func newInput(keys int) *Input {
	in := &Input{
		Values:         make(map[string][]int64, keys),
		Times:          make(map[string][]int64, keys),
		Partition:      make(map[string]int32, keys),
		TableOffsets:   make(map[string][]int64, keys),
		TablePartition: make(map[string]int32, keys),
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

// addTableUpdate records the next update of key, written at offset of
// partition of TableTopic.
func (in *Input) addTableUpdate(key string, partition int32, offset int64) error {
	if p, ok := in.TablePartition[key]; ok && p != partition {
		return fmt.Errorf("harness: generator: key %q was written to partitions %d and %d of %s", key, p, partition, TableTopic)
	}
	if p, ok := in.Partition[key]; ok && p != partition {
		return fmt.Errorf("harness: generator: key %q is in partition %d of %s but %d of %s: the topics are not co-partitioned", key, p, InputTopic, partition, TableTopic)
	}
	if offs := in.TableOffsets[key]; len(offs) > 0 && offs[len(offs)-1] >= offset {
		return fmt.Errorf("harness: generator: update of key %q at offset %d of %s partition %d after one at offset %d", key, offset, TableTopic, partition, offs[len(offs)-1])
	}
	in.TablePartition[key] = partition
	in.TableOffsets[key] = append(in.TableOffsets[key], offset)
	return nil
}

// tableVersion says which update of key the table value v is: its version
// (1-based), if v is one that was written.
func (in *Input) tableVersion(key string, v int64) (int, bool) {
	n := int64(len(in.Keys))
	i := slices.Index(in.Keys, key)
	if n == 0 || i < 0 || v < n || v%n != int64(i) {
		return 0, false
	}
	ver := v / n
	if ver > int64(len(in.TableOffsets[key])) {
		return 0, false
	}
	return int(ver), true
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
