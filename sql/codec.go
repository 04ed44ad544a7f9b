package sql

import (
	"encoding/binary"
	"fmt"
	"math"
)

// internalSerde writes rows on internal topics and in stores (repartition
// topics, aggregation state, changelogs): a self-describing binary form of
// each Value, so the layout needs no schema to read back and accumulators
// (arrays, AVG's pair) round-trip exactly.
type internalSerde struct{}

func (internalSerde) Serialize(dst []byte, _ string, r Row) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(r)))
	for _, v := range r {
		dst = appendValue(dst, v)
	}
	return dst, nil
}

const (
	hasI = 1 << iota
	hasF
	hasS
	hasA
	valid
)

func appendValue(dst []byte, v Value) []byte {
	var flags byte
	if v.Valid {
		flags |= valid
	}
	if v.I != 0 {
		flags |= hasI
	}
	if v.F != 0 {
		flags |= hasF
	}
	if v.S != "" {
		flags |= hasS
	}
	if v.A != nil {
		flags |= hasA
	}
	dst = append(dst, flags)
	if flags&hasI != 0 {
		dst = binary.AppendVarint(dst, v.I)
	}
	if flags&hasF != 0 {
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v.F))
	}
	if flags&hasS != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(v.S)))
		dst = append(dst, v.S...)
	}
	if flags&hasA != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(v.A)))
		for _, e := range v.A {
			dst = appendValue(dst, e)
		}
	}
	return dst
}

var errShort = fmt.Errorf("sql: internal row truncated")

func (internalSerde) Deserialize(_ string, data []byte) (Row, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 {
		return nil, errShort
	}
	data = data[k:]
	r := make(Row, n)
	var err error
	for i := range r {
		if r[i], data, err = readValue(data); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func readValue(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return null, nil, errShort
	}
	flags := b[0]
	b = b[1:]
	var v Value
	v.Valid = flags&valid != 0
	if flags&hasI != 0 {
		x, k := binary.Varint(b)
		if k <= 0 {
			return null, nil, errShort
		}
		v.I, b = x, b[k:]
	}
	if flags&hasF != 0 {
		if len(b) < 8 {
			return null, nil, errShort
		}
		v.F, b = math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:]
	}
	if flags&hasS != 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return null, nil, errShort
		}
		v.S, b = string(b[k:k+int(l)]), b[k+int(l):]
	}
	if flags&hasA != 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 {
			return null, nil, errShort
		}
		b = b[k:]
		v.A = make([]Value, l)
		var err error
		for i := range v.A {
			if v.A[i], b, err = readValue(b); err != nil {
				return null, nil, err
			}
		}
	}
	return v, b, nil
}
