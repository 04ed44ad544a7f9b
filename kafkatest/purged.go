package kafkatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// keepPurgedOffsets prepares the saved state in dataDir so that a partition
// whose records were all deleted keeps its offsets when kfake loads it.
//
// kfake saves, for each partition, a snapshot of its offsets beside the
// segment files holding its records, but loads the snapshot only together
// with segments: a partition that has none, because its application
// deleted every record (Kafka Streams-style purging of a repartition topic
// consumed to its end), comes back at offset 0. Its next record then gets
// offset 0, and the consumer's committed offset lies past the end, out of
// range, which resets it. A Kafka broker keeps the log start offset, and so
// does this: such a partition gets an empty segment file at its log start
// offset, which the snapshot lists, so that kfake takes the snapshot's
// offsets.
func keepPurgedOffsets(dataDir string) error {
	parts, err := os.ReadDir(filepath.Join(dataDir, "partitions"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range parts {
		if !p.IsDir() {
			continue
		}
		if err := keepPurgedPartition(filepath.Join(dataDir, "partitions", p.Name())); err != nil {
			return fmt.Errorf("partition %s: %w", p.Name(), err)
		}
	}
	return nil
}

func keepPurgedPartition(dir string) error {
	path := filepath.Join(dir, "snapshot.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The snapshot's other fields stay as kfake wrote them.
	var snap map[string]json.RawMessage
	if err := json.Unmarshal(raw, &snap); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var segs []json.RawMessage
	if v, ok := snap["segments"]; ok {
		if err := json.Unmarshal(v, &segs); err != nil {
			return fmt.Errorf("read %s: segments: %w", path, err)
		}
	}
	if len(segs) > 0 {
		return nil // kfake reads them
	}
	var start int64
	if v, ok := snap["log_start_offset"]; ok {
		if err := json.Unmarshal(v, &start); err != nil {
			return fmt.Errorf("read %s: log_start_offset: %w", path, err)
		}
	}
	if start <= 0 {
		return nil // nothing to lose: it starts at 0 again
	}
	// Segment files the snapshot does not list: empty ones are those of
	// an earlier load (kfake drops empty segments and saves none), and a
	// record in any other kfake replays.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var empty []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".dat") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() > 0 {
			return nil
		}
		empty = append(empty, e.Name())
	}
	for _, name := range empty {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.dat", start)), nil, 0o644); err != nil {
		return err
	}
	listed, err := json.Marshal([]map[string]int64{{"base_offset": start, "size": 0}})
	if err != nil {
		return err
	}
	snap["segments"] = listed
	out, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
