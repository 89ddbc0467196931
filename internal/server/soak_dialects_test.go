package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// setup makes the soak's credentials, resources and readers. Readers of
// streams that start "from now" start after the last setup event.
func (l *soakLoad) setup() {
	l.call("PUT", "/v1/subscriptions/soak", l.admin, `{"topics":["app.soak.>"],"start":"earliest"}`, nil)

	l.call("POST", "/v1/hue/link", l.admin, `{}`, nil)
	var pair []struct{ Success struct{ Username string } }
	l.call("POST", "/api", nil, `{"devicetype":"soak#go"}`, &pair)
	if len(pair) != 1 || pair[0].Success.Username == "" {
		l.t.Fatalf("setup: pairing: %+v", pair)
	}
	l.vars["hue-key"] = pair[0].Success.Username
	var dev struct{ Data []struct{ RID, RType string } }
	l.call("POST", "/v1/hue/devices", l.admin, `{"product":"color_lamp","name":"Soak"}`, &dev)
	for _, svc := range dev.Data {
		if svc.RType == "light" {
			l.vars["light"] = svc.RID
		}
	}

	var zu struct {
		APIKey string `json:"api_key"`
	}
	l.call("POST", "/v1/zulip/users", l.admin, `{"email":"soak@example.com","full_name":"Soak"}`, &zu)
	l.call("POST", "/v1/zulip/streams", l.admin, `{"name":"soak"}`, nil)
	l.vars["zulip-auth"] = basicAuth("soak@example.com", zu.APIKey)
	var reg struct {
		QueueID string `json:"queue_id"`
	}
	l.call("POST", "/api/v1/register", l.zulipForm(), url.Values{"event_types": {`["message"]`}, "apply_markdown": {"false"}}.Encode(), &reg)
	l.vars["queue"] = reg.QueueID

	var ju struct {
		AccessKey string `json:"access_key"`
	}
	l.call("POST", "/v1/jetstream/users", l.admin, `{"name":"soak"}`, &ju)
	l.vars["access-key"] = ju.AccessKey
	l.call("GET", "/3/events", http.Header{"AccessKey": {ju.AccessKey}}, "", nil) // the first GET subscribes

	var tok struct{ Token string }
	l.call("POST", "/v1/plex/tokens", l.admin, `{"name":"soak"}`, &tok)
	l.vars["plex-token"] = tok.Token

	var start struct{ Events []struct{ Seq uint64 } }
	l.call("POST", "/v1/events", l.admin, `{"topic":"app.start"}`, &start)
	l.vars["start"] = strconv.FormatUint(start.Events[0].Seq, 10)

	for _, name := range []string{"native sse 1", "native sse 2"} {
		l.reader(name, "native", l.nativeSSE)
	}
	l.reader("native websocket", "native", l.nativeWS)
	l.reader("native long-poll", "native", l.nativePoll)
	l.reader("native subscription", "native", l.nativeSubscription)
	l.reader("zulip queue", "zulip", l.zulipQueue)
	l.reader("jetstream subscription", "jetstream", l.jetstreamPoll)
	l.reader("hue eventstream", "hue", l.hueStream)
	l.reader("plex eventsource", "plex", l.plexStream)
	l.closeIdle()
}

func (l *soakLoad) zulipForm() http.Header {
	return http.Header{"Authorization": {l.vars["zulip-auth"]}, "Content-Type": {"application/x-www-form-urlencoded"}}
}

// publishers are one loop per dialect (two native ones): each publishes
// until ctx ends, one request at a time, and records what was
// acknowledged. A request under way when ctx ends is finished, so that
// nothing is stored that its publisher does not know of.
func (l *soakLoad) publishers() []func(ctx context.Context) {
	loop := func(ch string, pace time.Duration, publish func(k int) ([]string, error)) func(ctx context.Context) {
		c := l.channels[ch]
		return func(ctx context.Context) {
			for k := 0; ctx.Err() == nil; k++ {
				toks, err := publish(k)
				if err != nil {
					l.t.Errorf("%s publisher: %v", ch, err)
					return
				}
				for _, tok := range toks {
					c.ack(l.t, tok)
				}
				time.Sleep(pace)
			}
		}
	}
	post := func(path string, hdr http.Header, body string, want int, out any) error {
		req, _ := http.NewRequest("POST", l.s.URL()+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := l.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return fmt.Errorf("%s: %d %.200s", path, resp.StatusCode, b)
		}
		return json.Unmarshal(b, out)
	}
	native := func(p int) func(k int) ([]string, error) {
		return func(k int) ([]string, error) {
			var b strings.Builder
			b.WriteByte('[')
			for j := range 1 + rand.IntN(5) {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"topic":"app.soak.p%d","type":"t","id":"n%d-%d-%d","data":{"k":%d}}`, p, p, k, j, k)
			}
			b.WriteByte(']')
			var out struct{ Events []struct{ ID string } }
			if err := post("/v1/events", l.admin, b.String(), 201, &out); err != nil {
				return nil, err
			}
			var toks []string
			for _, e := range out.Events {
				toks = append(toks, e.ID)
			}
			return toks, nil
		}
	}
	hue := func(k int) ([]string, error) {
		name := fmt.Sprint("soak-", k)
		req, _ := http.NewRequest("PUT", l.s.URL()+"/clip/v2/resource/light/"+l.vars["light"],
			strings.NewReader(`{"metadata":{"name":"`+name+`"}}`))
		req.Header.Set("hue-application-key", l.vars["hue-key"])
		resp, err := l.client.Do(req)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("PUT light: %d %.200s", resp.StatusCode, b)
		}
		return []string{name}, nil
	}
	zulip := func(k int) ([]string, error) {
		content := fmt.Sprint("z-", k)
		msg := url.Values{"type": {"stream"}, "to": {"soak"}, "topic": {"t"}, "content": {content}}
		var out struct{ ID int64 }
		if err := post("/api/v1/messages", l.zulipForm(), msg.Encode(), 200, &out); err != nil {
			return nil, err
		}
		return []string{content}, nil
	}
	jetstream := func(int) ([]string, error) {
		var out struct {
			Events []struct {
				EventID string `json:"event_id"`
			}
		}
		if err := post("/v1/jetstream/simulate", l.admin, `{"device":"soak-1","heartbeat":true}`, 201, &out); err != nil {
			return nil, err
		}
		return []string{out.Events[0].EventID}, nil
	}
	plex := func(k int) ([]string, error) {
		value := fmt.Sprint("p-", k)
		var out struct{ Events int }
		if err := post("/v1/plex/simulate/preference", l.admin, `{"id":"FriendlyName","value":"`+value+`"}`, 200, &out); err != nil {
			return nil, err
		}
		return []string{value}, nil
	}
	return []func(context.Context){
		loop("native", 10*time.Millisecond, native(0)), loop("native", 10*time.Millisecond, native(1)),
		loop("hue", 20*time.Millisecond, hue), loop("zulip", 20*time.Millisecond, zulip),
		loop("jetstream", 20*time.Millisecond, jetstream), loop("plex", 20*time.Millisecond, plex),
	}
}

// nativeEvent is what a reader takes from a native event.
type nativeEvent struct {
	Seq uint64
	ID  string
}

// next checks that e follows *after and moves it on.
func (e nativeEvent) next(after *uint64) error {
	if e.Seq <= *after {
		return fmt.Errorf("event %d (%s) after %d", e.Seq, e.ID, *after)
	}
	*after = e.Seq
	return nil
}

// stream opens an SSE stream that lives for resumeAfter and calls fn with
// each event; it reports an error other than the stream's planned end.
func (l *soakLoad) stream(ctx context.Context, path string, hdr http.Header, fn func(sseEvent) error) error {
	sctx, cancel := context.WithTimeout(ctx, resumeAfter())
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", l.s.URL()+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := l.client.Do(req)
	if sctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %.200s", path, resp.StatusCode, b)
	}
	err = readSSE(resp.Body, fn)
	if sctx.Err() != nil || errors.Is(err, errDone) {
		return nil
	}
	return fmt.Errorf("GET %s: the stream ended: %v", path, err)
}

func (l *soakLoad) nativeSSE(ctx context.Context, r *reader) {
	var after uint64
	hdr := http.Header{"Authorization": {"Bearer " + l.s.Admin}}
	for r.more(ctx) {
		path := "/v1/stream?topics=app.soak.>&after=" + strconv.FormatUint(after, 10)
		err := l.stream(ctx, path, hdr, func(e sseEvent) error {
			var ev nativeEvent
			if err := json.Unmarshal(e.Data, &ev); err != nil || e.ID != strconv.FormatUint(ev.Seq, 10) {
				return fmt.Errorf("event %s: %q %v", e.ID, e.Data, err)
			}
			if err := ev.next(&after); err != nil {
				return err
			}
			return r.deliver(ev.ID)
		})
		if err != nil {
			r.fail(err)
		}
	}
}

func (l *soakLoad) nativeWS(ctx context.Context, r *reader) {
	var after uint64
	ws := "ws" + strings.TrimPrefix(l.s.URL(), "http")
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + l.s.Admin}}}
	for r.more(ctx) {
		err := func() error {
			sctx, cancel := context.WithTimeout(ctx, resumeAfter())
			defer cancel()
			c, _, err := websocket.Dial(sctx, ws+"/v1/ws?topics=app.soak.>&after="+strconv.FormatUint(after, 10), opts)
			if sctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
			defer c.CloseNow()
			for {
				_, msg, err := c.Read(sctx)
				if sctx.Err() != nil {
					return nil
				}
				if err != nil {
					return fmt.Errorf("websocket: %v", err)
				}
				var ev nativeEvent
				if err := json.Unmarshal(msg, &ev); err != nil || ev.Seq == 0 {
					return fmt.Errorf("websocket message %q: %v", msg, err)
				}
				if err := ev.next(&after); err != nil {
					return err
				}
				if err := r.deliver(ev.ID); err != nil {
					return nil // all there
				}
			}
		}()
		if err != nil {
			r.fail(err)
		}
	}
}

// get makes a read request of a poller; ok is false if ctx ended first.
func (l *soakLoad) get(ctx context.Context, method, path string, hdr http.Header, body string, out any) (status int, ok bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, method, l.s.URL()+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := l.client.Do(req)
	if ctx.Err() != nil {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if ctx.Err() != nil {
		return 0, false, nil
	}
	if err == nil && out != nil && resp.StatusCode < 300 {
		err = json.Unmarshal(b, out)
	}
	if err == nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, err == nil, err
}

func (l *soakLoad) nativePoll(ctx context.Context, r *reader) {
	var after uint64
	for r.more(ctx) {
		var page struct {
			Events []nativeEvent
			Next   uint64
		}
		path := "/v1/events?topics=app.soak.>&limit=500&wait=500ms&after=" + strconv.FormatUint(after, 10)
		_, ok, err := l.get(ctx, "GET", path, l.admin, "", &page)
		if err != nil {
			r.fail(err)
		}
		if !ok {
			continue
		}
		for _, ev := range page.Events {
			if err := ev.next(&after); err != nil {
				r.fail(err)
			}
			r.deliver(ev.ID)
		}
		after = max(after, page.Next)
	}
}

// nativeSubscription fetches batches and acknowledges them, but drops one
// in five as a consumer that crashed would: the next fetch must hand out
// the same batch. An event counts once its batch is acknowledged.
func (l *soakLoad) nativeSubscription(ctx context.Context, r *reader) {
	dropped := ""
	for r.more(ctx) {
		var b struct {
			Batch  string
			Events []nativeEvent
		}
		_, ok, err := l.get(ctx, "GET", "/v1/subscriptions/soak/events?limit=100&wait=500ms", l.admin, "", &b)
		if err != nil {
			r.fail(err)
		}
		if !ok || b.Batch == "" {
			continue
		}
		if dropped != "" && b.Batch != dropped {
			r.fail(fmt.Errorf("batch %s was handed out, not acknowledged, and then batch %s", dropped, b.Batch))
		}
		if dropped = ""; rand.IntN(5) == 0 {
			dropped = b.Batch
			continue
		}
		if _, ok, err := l.get(ctx, "POST", "/v1/subscriptions/soak/ack", l.admin, `{"batch":"`+b.Batch+`"}`, nil); err != nil || !ok {
			r.fail(fmt.Errorf("ack %s: %v", b.Batch, err))
			continue
		}
		for _, ev := range b.Events {
			r.deliver(ev.ID)
		}
	}
}

// zulipQueue long-polls the queue and abandons each poll after a while,
// as a client whose connection dropped: the next poll names the last event
// it got, and nothing it acknowledged comes again.
func (l *soakLoad) zulipQueue(ctx context.Context, r *reader) {
	last := int64(-1)
	for r.more(ctx) {
		var out struct {
			Events []struct {
				ID      int64
				Type    string
				Message struct{ Content string }
			}
		}
		pctx, cancel := context.WithTimeout(ctx, resumeAfter()+500*time.Millisecond)
		q := url.Values{"queue_id": {l.vars["queue"]}, "last_event_id": {strconv.FormatInt(last, 10)}}
		_, ok, err := l.get(pctx, "GET", "/api/v1/events?"+q.Encode(), l.zulipForm(), "", &out)
		cancel()
		if err != nil {
			r.fail(err)
		}
		for _, ev := range out.Events {
			if !ok {
				break
			}
			if ev.ID <= last {
				r.fail(fmt.Errorf("event %d after acknowledging %d", ev.ID, last))
			}
			last = ev.ID
			if ev.Type == "message" {
				r.deliver(ev.Message.Content)
			}
		}
	}
}

// jetstreamPoll gets and deletes batches, dropping one in five: its events
// come again, in a batch of their own if more arrived meanwhile. An event
// counts once its batch is deleted.
func (l *soakLoad) jetstreamPoll(ctx context.Context, r *reader) {
	hdr := http.Header{"AccessKey": {l.vars["access-key"]}, "Content-Type": {"application/json"}}
	for r.more(ctx) {
		var b struct {
			BatchID string `json:"BatchId"`
			Events  []struct {
				EventID string `json:"EventId"`
			}
		}
		_, ok, err := l.get(ctx, "GET", "/3/events", hdr, "", &b)
		if err != nil {
			r.fail(err)
		}
		if !ok || len(b.Events) == 0 || rand.IntN(5) == 0 {
			sleepCtx(ctx, 20*time.Millisecond)
			continue
		}
		if st, ok, err := l.get(ctx, "DELETE", "/3/events", hdr, `{"BatchId":"`+b.BatchID+`"}`, nil); err != nil || (ok && st != 204) {
			r.fail(fmt.Errorf("delete batch %s: %d %v", b.BatchID, st, err))
			continue
		}
		for _, ev := range b.Events {
			r.deliver(ev.EventID)
		}
	}
}

func (l *soakLoad) hueStream(ctx context.Context, r *reader) {
	last := "0:" + l.vars["start"]
	hdr := http.Header{"hue-application-key": {l.vars["hue-key"]}, "Accept": {"text/event-stream"}}
	for r.more(ctx) {
		hdr.Set("Last-Event-ID", last)
		err := l.stream(ctx, "/eventstream/clip/v2", hdr, func(e sseEvent) error {
			var msg []struct {
				Data []struct {
					ID, Type string
					Metadata struct{ Name string }
				}
			}
			if err := json.Unmarshal(e.Data, &msg); err != nil || e.ID == "" {
				return fmt.Errorf("hue message %s: %q %v", e.ID, e.Data, err)
			}
			last = e.ID
			for _, c := range msg {
				for _, it := range c.Data {
					if it.Type == "light" && it.ID == l.vars["light"] && it.Metadata.Name != "" {
						if err := r.deliver(it.Metadata.Name); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			r.fail(err)
		}
	}
}

func (l *soakLoad) plexStream(ctx context.Context, r *reader) {
	last := l.vars["start"]
	hdr := http.Header{"X-Plex-Token": {l.vars["plex-token"]}}
	for r.more(ctx) {
		hdr.Set("Last-Event-ID", last)
		err := l.stream(ctx, "/:/eventsource/notifications", hdr, func(e sseEvent) error {
			var n struct{ Setting struct{ Value string } }
			if err := json.Unmarshal(e.Data, &n); err != nil || e.Event != "preference" || e.ID == "" {
				return fmt.Errorf("plex event %s %s: %q %v", e.ID, e.Event, e.Data, err)
			}
			last = e.ID
			return r.deliver(n.Setting.Value)
		})
		if err != nil {
			r.fail(err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
