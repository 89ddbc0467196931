// Package client is the Go client for herald's native API.
//
// A Client publishes events, reads them by long-poll or as a stream,
// manages durable pull subscriptions and, with an admin key, API keys:
//
//	c := client.New("http://localhost:8080", os.Getenv("HERALD_KEY"))
//	acks, err := c.Publish(ctx, client.Draft{
//		Topic: "app.door.front",
//		Type:  "opened",
//		Data:  json.RawMessage(`{"by":"alice"}`),
//	})
//
// A Stream follows the log over Server-Sent Events and resumes exactly where
// it left off when the connection drops or the server restarts: it
// reconnects with backoff and asks for the events after the last one it
// delivered, so a consumer sees every matching event once, in order.
//
//	s := c.Stream(ctx, client.StreamOptions{Topics: []string{"app.>"}})
//	defer s.Close()
//	for {
//		ev, err := s.Next(ctx)
//		if errors.Is(err, client.ErrPositionExpired) {
//			// Retention removed events this stream had not read yet.
//			// Accept the gap explicitly, or give up.
//			var apiErr *client.APIError
//			errors.As(err, &apiErr)
//			s.ResumeAfter(apiErr.Earliest - 1)
//			continue
//		}
//		if err != nil {
//			return err
//		}
//		handle(ev)
//	}
//
// Errors the server reports are *APIError values; callers branch on them
// with errors.Is and the sentinels ErrNotFound, ErrUnauthorized,
// ErrForbidden, ErrRateLimited, ErrPositionExpired and so on.
package client
