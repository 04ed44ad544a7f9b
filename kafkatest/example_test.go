package kafkatest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
)

// Programs that are not tests start and close the broker themselves.
func ExampleStart() {
	b, err := kafkatest.Start(kafkatest.Topics(1, "greetings"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	cl, err := b.Client(kgo.ConsumeTopics("greetings"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close() // before the broker
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "greetings", Value: []byte("hello")}).FirstErr(); err != nil {
		log.Fatal(err)
	}
	for _, r := range cl.PollFetches(ctx).Records() {
		fmt.Println(string(r.Value))
	}
	// Output: hello
}

func ExampleBroker_CreateTopic() {
	b, err := kafkatest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("orders", 6); err != nil {
		log.Fatal(err)
	}
	cl, err := b.Client()
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background(), "orders")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(topics["orders"].Partitions), "partitions")
	// Output: 6 partitions
}
