package serde_test

import (
	"fmt"
	"time"

	"github.com/samsa-go/samsa/serde"
)

// A windowed count's output topic has keys of this format; a Java consumer
// reads them with WindowedSerdes.timeWindowedSerdeFrom(String.class, 60000).
func ExampleTimeWindowed() {
	s := serde.TimeWindowed(serde.String, time.Minute)
	b, _ := s.Serialize(nil, "clicks-per-minute", serde.Windowed[string]{Key: "home", Start: 60_000, End: 120_000})
	fmt.Printf("% x\n", b)

	w, _ := s.Deserialize("clicks-per-minute", b)
	fmt.Println(w)
	// Output:
	// 68 6f 6d 65 00 00 00 00 00 00 ea 60
	// [home@60000/120000]
}

func ExampleSessionWindowed() {
	s := serde.SessionWindowed(serde.String)
	b, _ := s.Serialize(nil, "sessions", serde.Windowed[string]{Key: "u1", Start: 1, End: 2})
	fmt.Printf("% x\n", b)
	// Output:
	// 75 31 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 01
}
