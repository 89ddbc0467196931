package zulip

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/cursor"
)

// benchHeartbeat is the benchmarks' poll wait, in Zulip's range (45–55 s):
// the tests' hour would outlast a queue's lifespan and make every poll
// store its queue's idle clock first, which polls in service do only once
// in a fifth of the lifespan.
const benchHeartbeat = 50 * time.Second

// BenchmarkMessageToBlockedQueues: 5,000 queues, each with a poll blocked
// in GET /api/v1/events; one stream message must reach all of them. Reports
// the p50/p99 from the send to each poll's answer.
func BenchmarkMessageToBlockedQueues(b *testing.B) {
	const queues = 5000
	e := newEnv(b, Config{Heartbeat: benchHeartbeat})
	// Each queue's client keeps its connection, as Zulip's clients do (the
	// default pool keeps two: the others would close after every answer,
	// in the measured time, on both ends).
	e.srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = queues
	// Five users of 1,000 queues each, and no rate limit to speak of: the
	// keys' limits (1,000/s, burst 2,000) are not what is measured, and
	// would refuse the polls of rounds less than a second apart.
	e.core.Auth.SetRate(1e9, 1e9)
	users := make([]zuser, 5)
	for i := range users {
		users[i] = e.addUser(fmt.Sprintf("bot%d@example.com", i), "Bot")
	}
	e.addStream("general")
	qids := make([]string, queues)
	last := make([]int64, queues)
	for i := range qids {
		qids[i] = e.register(users[i%len(users)], url.Values{"event_types": {`["message"]`}})
		last[i] = -1
	}
	var lat []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ended atomic.Int64
		arrived := make([]time.Time, queues)
		for i := range qids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer ended.Add(1)
				status, ids, raw := e.pollIDs(users[i%len(users)], qids[i], last[i])
				if status != 200 || len(ids) != 1 {
					b.Errorf("queue %d: %d %s", i, status, raw)
					return
				}
				mu.Lock()
				arrived[i] = time.Now()
				last[i] = ids[0]
				mu.Unlock()
			}()
		}
		// Every poll blocked (an ordering condition, not a timing one):
		// registered, and past its own reads and writes, waiting on the hub.
		for {
			if e.api.polls.inFlight() == queues && e.core.Hub.Subscribers() >= queues {
				break
			}
			if ended.Load() > 0 {
				b.Fatal("a poll ended before the message")
			}
			time.Sleep(time.Millisecond)
		}
		sent := time.Now()
		e.sendStream(users[0], "general", "bench", fmt.Sprint("message ", n))
		wg.Wait()
		for _, t := range arrived {
			lat = append(lat, t.Sub(sent))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// pollIDs is a blocking poll of queue qid from last that decodes only the
// answer's event ids: what the benchmarks' clients need, at what a client
// that reads its events (into its own types) spends, which the generic
// decoding of env.poll would exceed many times over.
func (e *env) pollIDs(u zuser, qid string, last int64) (status int, ids []int64, raw []byte) {
	req, err := http.NewRequest("GET", e.srv.URL+"/api/v1/events?"+url.Values{
		"queue_id": {qid}, "last_event_id": {strconv.FormatInt(last, 10)}, "dont_block": {"false"}}.Encode(), nil)
	if err != nil {
		return -1, nil, []byte(err.Error())
	}
	req.SetBasicAuth(u.Email, u.Key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return -1, nil, []byte(err.Error())
	}
	defer res.Body.Close()
	raw, _ = io.ReadAll(res.Body)
	var answer struct {
		Events []struct {
			ID int64 `json:"id"`
		} `json:"events"`
	}
	if json.Unmarshal(raw, &answer) != nil {
		return res.StatusCode, nil, raw
	}
	for _, ev := range answer.Events {
		ids = append(ids, ev.ID)
	}
	return res.StatusCode, ids, raw
}

// typicalMessage is a bot's message of the usual kind: a mention, code,
// a link, a stream link, a short list.
const typicalMessage = "Hi @**Iago**, the deploy of `herald` v1.4 is done: see " +
	"https://ci.example.com/runs/1234 and #**Denmark>ops**.\n\n" +
	"* 3 nodes updated, **no** errors\n* p99 is *fine*\n\n```go\nfmt.Println(\"it's done\")\n```"

// BenchmarkRenderSanitize is what delivering a message to apply_markdown
// queues costs once per event: rendering its Markdown, and that with the
// sanitizer after it.
func BenchmarkRenderSanitize(b *testing.B) {
	z := newSanitizer()
	html := renderZulipMarkdown(typicalMessage, testRefs)
	if z.clean(html) != html {
		b.Fatalf("the sanitizer changed %q", html)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			renderZulipMarkdown(typicalMessage, testRefs)
		}
	})
	b.Run("sanitize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			z.clean(html)
		}
	})
	b.Run("render+sanitize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			z.clean(renderZulipMarkdown(typicalMessage, testRefs))
		}
	})
}

// BenchmarkPollAnswer is one poll of a queue, acknowledging a message,
// that finds the next one waiting in the hub's window, served by the
// handler without a network: what the dialect, the guard and the cursor's
// Follow cost per poll (the barrier's engine call included, unshared). The
// poll writes nothing, so repeating the same one is the steady state of a
// client that keeps up.
func BenchmarkPollAnswer(b *testing.B) {
	e := newEnv(b, Config{Heartbeat: benchHeartbeat})
	u := e.addUser("bot@example.com", "Bot")
	e.addStream("general")
	qid := e.register(u, url.Values{"event_types": {`["message"]`}, "narrow": {`[["stream","general"]]`}})
	// The client acknowledges the first message; the second is waiting.
	e.sendStream(u, "general", "bench", "hi")
	e.sendStream(u, "general", "bench", "again")
	e.waitHub(b, e.core.Hub.Last())
	first := e.poll(context.Background(), u, qid, -1, true).events()
	if len(first) != 2 {
		b.Fatalf("events: %v", first)
	}
	target := e.srv.URL + "/api/v1/events?" + url.Values{
		"queue_id": {qid}, "last_event_id": {fmt.Sprint(int64(first[0]["id"].(float64)))}, "dont_block": {"false"}}.Encode()
	mux := e.srv.Config.Handler
	e.core.Auth.SetRate(1e9, 1e9) // what is measured is a poll, not its refusal
	poll := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		req.SetBasicAuth(u.Email, u.Key)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w
	}
	check := func(w *httptest.ResponseRecorder) {
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"type":"message"`) {
			b.Fatalf("poll: %d %s", w.Code, w.Body)
		}
	}
	check(poll())
	b.ReportAllocs()
	for b.Loop() {
		check(poll())
	}
}

// BenchmarkAuthenticated is what every Zulip request pays before its
// handler: the guard with Zulip's Basic email:api_key credential (its
// parse, the key's lookup and hash, the email check, the rate limit) and
// the request's user, served without a network.
func BenchmarkAuthenticated(b *testing.B) {
	e := newEnv(b, Config{Heartbeat: benchHeartbeat})
	u := e.addUser("bot@example.com", "Bot")
	e.core.Auth.SetRate(1e9, 1e9) // what is measured is an admission, not a refusal
	var seen *user
	h := e.api.authenticated(func(w http.ResponseWriter, r *http.Request, u *user) error {
		seen = u
		return nil
	})
	req := httptest.NewRequest("GET", "/api/v1/users/me", nil)
	req.SetBasicAuth(u.Email, u.Key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || seen == nil || seen.ID != u.ID {
		b.Fatalf("%d %s %+v", w.Code, w.Body, seen)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkPollParked is one blocking poll that finds nothing, parks (the
// engine takes its connection) and is answered with a heartbeat when its
// wait is over: the path of a client that keeps up, but for the events'
// rendering, with the client's own request and reading in the count.
func BenchmarkPollParked(b *testing.B) {
	e := newEnv(b, Config{Heartbeat: time.Millisecond})
	u := e.addUser("bot@example.com", "Bot")
	e.addStream("general")
	qid := e.register(u, url.Values{"event_types": {`["message"]`}})
	e.core.Auth.SetRate(1e9, 1e9)
	last := int64(-1)
	poll := func() {
		status, ids, raw := e.pollIDs(u, qid, last)
		if status != 200 || len(ids) != 1 || ids[0]%idStep == 0 {
			b.Fatalf("poll: %d %s", status, raw) // a heartbeat's id is not an event's
		}
		last = ids[0]
	}
	poll()
	b.ReportAllocs()
	for b.Loop() {
		poll()
	}
}

// BenchmarkPollSlots is what registering a blocking poll costs, from a
// poll of each of 500 queues after another, on both cores: the queue's
// slot, its context, and their end.
func BenchmarkPollSlots(b *testing.B) {
	p := newPolls()
	sts := make([]cursor.State, 500)
	for i := range sts {
		sts[i].ID = fmt.Sprintf("zulip.zulip.%036x", i)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) * 7
		for pb.Next() {
			i++
			_, end := p.wait(&sts[i%len(sts)], "q")
			end()
		}
	})
}
