package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/topology"
)

// splitLine is the FlatMapValues of word count, the same on both sides.
func splitLine(line string) []string { return strings.Fields(strings.ToLower(line)) }

// w2CacheBytes is the cache of the cached word-count sides: Kafka Streams'
// default cache size (statestore.cache.max.bytes), which it turns on by
// default.
const w2CacheBytes = 10 << 20

// wordCountTopology is word count; cacheBytes > 0 puts a cache of that
// size in front of the counts store.
func wordCountTopology(in, out string, cacheBytes int) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	m := dsl.MaterializedAs[string, int64]("counts")
	if cacheBytes > 0 {
		m = m.WithCachingEnabled(cacheBytes)
	}
	dsl.Stream(b, in, serde.Bytes, serde.String).
		FlatMapValues(splitLine).
		GroupBy(func(_ []byte, word string) string { return word }, dsl.GroupedWith(serde.String, serde.String)).
		Count(m).
		ToStream().
		To(out, dsl.ProducedWith(serde.String, serde.Int64))
	return b.Build()
}

// maxWordKeys bounds the distinct words of a word-count input: spelled
// words have six base-26 letters for the index.
const maxWordKeys = 26 * 26 * 26 * 26 * 26 * 26

// vocabulary spells the words of a word-count input by index, and reads
// an index back from a word.
type vocabulary interface {
	word(i int) string
	index(w string) (int, bool)
}

// randomVocab is words of 6 to 11 random letters, all different.
type randomVocab struct {
	words []string
	idx   map[string]int
}

func newRandomVocab(n int, rng *rand.Rand) *randomVocab {
	v := &randomVocab{idx: make(map[string]int, n)}
	for len(v.words) < n {
		w := make([]byte, 6+rng.IntN(6))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		if _, dup := v.idx[string(w)]; dup {
			continue
		}
		v.idx[string(w)] = len(v.words)
		v.words = append(v.words, string(w))
	}
	return v
}

func (v *randomVocab) word(i int) string { return v.words[i] }

func (v *randomVocab) index(w string) (int, bool) {
	i, ok := v.idx[w]
	return i, ok
}

// spelledVocab spells index i as six base-26 letters and 0 to 5 more that
// depend on i: as long as random words, without a table of a million of
// them.
type spelledVocab struct{ n int }

func (v spelledVocab) word(i int) string {
	var b [11]byte
	x := i
	for j := 5; j >= 0; j-- {
		b[j] = byte('a' + x%26)
		x /= 26
	}
	h := uint32(i) * 2654435761
	extra := int(h>>29) % 6
	for j := 0; j < extra; j++ {
		b[6+j] = byte('a' + (h>>(j*4))%26)
	}
	return string(b[:6+extra])
}

func (v spelledVocab) index(w string) (int, bool) {
	if len(w) < 6 {
		return 0, false
	}
	i := 0
	for j := 0; j < 6; j++ {
		c := w[j]
		if c < 'a' || c > 'z' {
			return 0, false
		}
		i = i*26 + int(c-'a')
	}
	if i >= v.n || v.word(i) != w {
		return 0, false
	}
	return i, true
}

// wordInput is a word-count input topic and what counting it must give.
type wordInput struct {
	topic  string
	lines  int
	words  int64
	vocab  vocabulary
	counts []int32 // by word index
}

// produceWords writes lines of 100 bytes (words separated by spaces,
// padded with spaces) to topic: words are vocab's, picked by pick(j) for
// the j-th word; it stops after maxLines lines or maxWords words,
// whichever comes first (0: no limit).
func (b *bench) produceWords(ctx context.Context, topic string, vocab vocabulary, keys, maxLines int, maxWords int64, pick func(j int64) int) (*wordInput, error) {
	if err := b.createTopics(ctx, b.cfg.partitions, nil, topic); err != nil {
		return nil, err
	}
	in := &wordInput{topic: topic, vocab: vocab, counts: make([]int32, keys)}
	var lines [][]byte
	next := vocab.word(pick(0))
	for (maxLines == 0 || len(lines) < maxLines) && (maxWords == 0 || in.words < maxWords) {
		v := make([]byte, 0, valueSize)
		for maxWords == 0 || in.words < maxWords {
			extra := len(next)
			if len(v) > 0 {
				extra++
			}
			if len(v)+extra > valueSize {
				break
			}
			if len(v) > 0 {
				v = append(v, ' ')
			}
			v = append(v, next...)
			i, _ := vocab.index(next)
			in.counts[i]++
			in.words++
			next = vocab.word(pick(in.words))
		}
		for len(v) < valueSize {
			v = append(v, ' ')
		}
		lines = append(lines, v)
	}
	in.lines = len(lines)
	err := b.produceAll(ctx, topic, len(lines), func(i int) ([]byte, []byte) { return key(i), lines[i] })
	return in, err
}

// verifyWordCounts reads topic, the output of a word count over in, and
// checks it: the last count of every word is its count in the input, and
// no word is unknown; with every, the topic holds one record per word of
// the input and each word's counts go 1, 2, 3... in order; without, each
// word's counts rise. It returns a note on what it read.
func (b *bench) verifyWordCounts(ctx context.Context, topic string, in *wordInput, every bool) (string, error) {
	last := make([]int32, len(in.counts))
	n, err := b.readTopic(ctx, topic, func(r *kgo.Record) error {
		i, ok := in.vocab.index(string(r.Key))
		if !ok {
			return fmt.Errorf("unknown word %q", r.Key)
		}
		if len(r.Value) != 8 {
			return fmt.Errorf("count of %q has %d bytes, want 8", r.Key, len(r.Value))
		}
		c := int64(binary.BigEndian.Uint64(r.Value))
		switch {
		case every && c != int64(last[i])+1:
			return fmt.Errorf("count of %q went from %d to %d", r.Key, last[i], c)
		case c <= int64(last[i]):
			return fmt.Errorf("count of %q went from %d down to %d", r.Key, last[i], c)
		}
		last[i] = int32(c)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("verify %q: %w", topic, err)
	}
	for i, want := range in.counts {
		if last[i] != want {
			return "", fmt.Errorf("verify %q: last count of %q is %d, want %d", topic, in.vocab.word(i), last[i], want)
		}
	}
	if every && n != in.words {
		return "", fmt.Errorf("verify %q: %d records for %d words", topic, n, in.words)
	}
	return fmt.Sprintf("%d outputs for %d updates, all counts checked", n, in.words), nil
}
