package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/herald-io/herald/client"
)

func Example() {
	ctx := context.Background()
	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))

	acks, err := c.Publish(ctx, client.Draft{
		Topic: "app.door.front",
		Type:  "opened",
		Data:  json.RawMessage(`{"by":"alice"}`),
		ID:    client.NewID(), // makes a retry safe
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored at", acks[0].Seq)
}

func ExampleClient_Stream() {
	ctx := context.Background()
	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))

	// Follow app.* from the start of the log. The stream reconnects by
	// itself and never skips or repeats an event.
	s := c.Stream(ctx, client.StreamOptions{Topics: []string{"app.>"}, After: new(uint64(0))})
	defer s.Close()
	for {
		ev, err := s.Next(ctx)
		var apiErr *client.APIError
		if errors.Is(err, client.ErrPositionExpired) && errors.As(err, &apiErr) {
			log.Printf("events before %d were removed by retention; skipping them", apiErr.Earliest)
			s.ResumeAfter(apiErr.Earliest - 1)
			continue
		}
		if err != nil {
			log.Fatal(err) // e.g. ErrUnauthorized: retrying would not help
		}
		fmt.Println(ev.Seq, ev.Topic, ev.Type, string(ev.Data))
	}
}

func ExampleClient_Poll() {
	ctx := context.Background()
	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))

	// Long-poll from the start, 100 events at a time.
	after := uint64(0)
	for {
		evs, next, err := c.Poll(ctx, client.PollOptions{Topics: []string{"app.>"}, After: &after, Wait: 30 * time.Second})
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range evs {
			fmt.Println(ev.Seq, ev.Topic)
		}
		after = next
	}
}

func ExampleClient_Fetch() {
	ctx := context.Background()
	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))

	// A durable subscription remembers its position on the server: a
	// consumer that restarts continues with the first unacknowledged event.
	if _, err := c.PutSubscription(ctx, "mailer", client.SubscriptionSpec{
		Topics: []string{"app.signup"},
		Start:  client.StartEarliest,
	}); err != nil {
		log.Fatal(err)
	}
	b, err := c.Fetch(ctx, "mailer", 100, 30*time.Second)
	for err == nil {
		for _, ev := range b.Events {
			fmt.Println("send welcome mail for", string(ev.Data))
		}
		if b.ID == "" {
			b, err = c.Fetch(ctx, "mailer", 100, 30*time.Second) // nothing new within the wait
			continue
		}
		// Unacknowledged, the same batch would be handed out again: the
		// next request acknowledges this one.
		b, err = c.AckFetch(ctx, "mailer", b.ID, 100, 30*time.Second)
	}
	log.Fatal(err)
}

func ExampleClient_CreateKey() {
	ctx := context.Background()
	admin := client.New("http://localhost:8080", os.Getenv("HERALD_ADMIN_KEY"))

	key, token, err := admin.CreateKey(ctx, client.KeySpec{
		Name:      "door sensor",
		Publish:   []string{"app.door.>"},
		Subscribe: []string{"app.door.>"},
		Rate:      10,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The token is shown only now; the server keeps a hash.
	fmt.Println(key.ID, token)
}

func ExampleAPIError() {
	ctx := context.Background()
	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))

	_, err := c.Publish(ctx, client.Draft{Topic: "app.x"})
	var apiErr *client.APIError
	switch {
	case errors.Is(err, client.ErrRateLimited) && errors.As(err, &apiErr):
		time.Sleep(apiErr.RetryAfter)
	case errors.Is(err, client.ErrForbidden):
		log.Fatal("this key may not publish to app.x")
	case err != nil:
		log.Fatal(err)
	}
}
