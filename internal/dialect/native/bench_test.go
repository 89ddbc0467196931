package native_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/server"
)

// Ingest over HTTP with 32 concurrent publishers (the README's targets):
// one event per request, and 10-event batches, with both fsync modes.
func BenchmarkHTTPPublish1(b *testing.B)             { benchPublish(b, 1, eventlog.FsyncDefault) }
func BenchmarkHTTPPublish10(b *testing.B)            { benchPublish(b, 10, eventlog.FsyncDefault) }
func BenchmarkHTTPPublish10FsyncAlways(b *testing.B) { benchPublish(b, 10, eventlog.FsyncAlways) }

func benchPublish(b *testing.B, batch int, fsync eventlog.Fsync) {
	s := start(b, server.Config{Fsync: fsync})
	var body bytes.Buffer
	body.WriteByte('[')
	for i := 0; i < batch; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"topic":"app.sensor.kitchen","type":"reading","data":{"temperature":21.5,"humidity":40,"i":%d}}`, i)
	}
	body.WriteByte(']')
	payload := body.Bytes()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetParallelism(16) // 32 publishers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", s.URL+"/v1/events", bytes.NewReader(payload))
			req.Header.Set("Authorization", "Bearer "+s.admin)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
