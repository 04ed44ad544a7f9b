package topics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
)

// PurgeRepartition deletes the records of repartition topics below the given
// offsets (topic → partition → offset), which the reading tasks have
// committed past; Kafka Streams does the same after its commits. Offsets of 0
// or less are skipped.
func PurgeRepartition(ctx context.Context, adm *kadm.Client, offsets map[string]map[int32]int64) error {
	var os kadm.Offsets
	for t, ps := range offsets {
		for p, o := range ps {
			if o > 0 {
				os.Add(kadm.Offset{Topic: t, Partition: p, At: o})
			}
		}
	}
	if len(os) == 0 {
		return nil
	}
	resp, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		return fmt.Errorf("purging repartition topics: %w", err)
	}
	var errs []error
	for _, t := range slices.Sorted(maps.Keys(resp)) {
		for _, p := range slices.Sorted(maps.Keys(resp[t])) {
			if err := resp[t][p].Err; err != nil {
				errs = append(errs, fmt.Errorf("purging repartition topic %q partition %d: %w", t, p, err))
			}
		}
	}
	return errors.Join(errs...)
}
