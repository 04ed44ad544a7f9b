package serde_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/samsa-go/samsa/serde"
)

func Example_string() {
	b, _ := serde.String.Serialize(nil, "text-lines", "héllo")
	fmt.Printf("% x\n", b)

	s, _ := serde.String.Deserialize("text-lines", b)
	fmt.Println(s)
	// Output:
	// 68 c3 a9 6c 6c 6f
	// héllo
}

func Example_int64() {
	// A reused buffer makes encoding allocation-free.
	buf := make([]byte, 0, 8)
	for _, n := range []int64{1, -1} {
		buf, _ = serde.Int64.Serialize(buf[:0], "word-counts", n)
		fmt.Printf("% x\n", buf)
	}

	// Bytes of the wrong size are an error, never a silent zero.
	_, err := serde.Int64.Deserialize("word-counts", []byte{0, 0, 0, 1})
	fmt.Println(err)
	fmt.Println(errors.Is(err, serde.ErrSize))
	// Output:
	// 00 00 00 00 00 00 00 01
	// ff ff ff ff ff ff ff ff
	// serde: Int64 needs 8 bytes, got 4 (topic "word-counts")
	// true
}

func ExampleJSON() {
	type Order struct {
		ID   int    `json:"id"`
		Item string `json:"item"`
	}
	orders := serde.JSON[Order]()

	b, _ := orders.Serialize(nil, "orders", Order{ID: 7, Item: "book"})
	fmt.Println(string(b))

	o, _ := orders.Deserialize("orders", b)
	fmt.Printf("%+v\n", o)

	_, err := orders.Deserialize("orders", []byte(`{"id":"seven"}`))
	fmt.Println(errors.Is(err, serde.ErrInvalid))
	// Output:
	// {"id":7,"item":"book"}
	// {ID:7 Item:book}
	// true
}

func ExampleDefault() {
	if s, ok := serde.Default[int32](); ok {
		b, _ := s.Serialize(nil, "t", 258)
		fmt.Printf("% x\n", b)
	}

	type Order struct{ ID int }
	_, ok := serde.Default[Order]()
	fmt.Println(ok)
	// Output:
	// 00 00 01 02
	// false
}

func ExampleFuncs() {
	// Durations as Int64 milliseconds, the way a Java service might write
	// them.
	millis := serde.Funcs[time.Duration]{
		SerializeFunc: func(dst []byte, _ string, d time.Duration) ([]byte, error) {
			return binary.BigEndian.AppendUint64(dst, uint64(d.Milliseconds())), nil
		},
		DeserializeFunc: func(topic string, data []byte) (time.Duration, error) {
			ms, err := serde.Int64.Deserialize(topic, data)
			return time.Duration(ms) * time.Millisecond, err
		},
	}

	b, _ := millis.Serialize(nil, "latencies", 1500*time.Millisecond)
	fmt.Printf("% x\n", b)

	d, _ := millis.Deserialize("latencies", b)
	fmt.Println(d)
	// Output:
	// 00 00 00 00 00 00 05 dc
	// 1.5s
}
