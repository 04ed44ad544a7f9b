package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Dump writes every record of the input topic and of the topics the
// application writes, aborted ones and transaction markers included, to
// one file per partition under dir, for the diagnosis of a violation:
//
//	offset  producer-id/epoch  flags  key  value
//
// where flags say whether the record was transactional (t), a commit (C)
// or abort (A) marker. Values of 8 bytes are shown as integers.
func Dump(ctx context.Context, brokers []string, appID, dir string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("harness: dump: %w", err)
	}
	adm := kadm.NewClient(cl)
	topics, err := appTopics(ctx, adm, appID)
	if err != nil {
		cl.Close()
		return err
	}
	topics = append(topics, InputTopic, TableTopic)
	ends, err := adm.ListEndOffsets(ctx, topics...)
	cl.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("harness: dump: %w", err)
	}
	rd, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return fmt.Errorf("harness: dump: %w", err)
	}
	defer rd.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("harness: dump: %w", err)
	}
	type tp struct {
		t string
		p int32
	}
	files := map[tp]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, w := range files {
			w.Flush()
		}
		for _, f := range closers {
			f.Close()
		}
	}()
	todo := map[tp]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			todo[tp{o.Topic, o.Partition}] = o.Offset - 1
		}
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(todo) > 0 {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("harness: dump: %d partitions not read to their end: %w", len(todo), ctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("topic %q partition %d: %w", t, p, err) })
		if ferr != nil {
			return fmt.Errorf("harness: dump: %w", ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			if last, ok := todo[k]; ok && r.Offset >= last {
				delete(todo, k)
			}
			w := files[k]
			if w == nil {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.txt", r.Topic, r.Partition)))
				if err != nil {
					return
				}
				closers = append(closers, f)
				w = bufio.NewWriter(f)
				files[k] = w
			}
			flags := "-"
			switch {
			case r.Attrs.IsControl() && len(r.Key) >= 4 && r.Key[3] == 1:
				flags = "C"
			case r.Attrs.IsControl():
				flags = "A"
			case r.Attrs.IsTransactional():
				flags = "t"
			}
			fmt.Fprintf(w, "%d\t%d/%d\t%s\t%s\t%s\n", r.Offset, r.ProducerID, r.ProducerEpoch, flags, show(r.Key), show(r.Value))
		})
	}
	return nil
}

func show(b []byte) string {
	switch {
	case b == nil:
		return "null"
	case len(b) == 8:
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return strconv.FormatInt(v, 10)
	case utf8.Valid(b):
		return string(b)
	default:
		return fmt.Sprintf("%x", b)
	}
}
