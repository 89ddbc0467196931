package eventlog

import (
	"context"
	"fmt"
)

// ClusterInfo describes where the log's stream lives.
type ClusterInfo struct {
	Cluster  string    `json:"cluster,omitempty"`
	Leader   string    `json:"leader,omitempty"` // server holding the stream's leader
	Replicas []Replica `json:"replicas,omitempty"`
	First    uint64    `json:"first_seq"`
	Last     uint64    `json:"last_seq"`
	Messages uint64    `json:"messages"`
	Bytes    uint64    `json:"bytes"`
}

// Replica is a follower of the stream.
type Replica struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline"`
	Lag     uint64 `json:"lag"`
}

// Cluster reports the stream's placement and state.
func (l *Log) Cluster(ctx context.Context) (ClusterInfo, error) {
	s, err := l.js.Stream(ctx, l.stream)
	if err != nil {
		return ClusterInfo{}, fmt.Errorf("eventlog: %w", engineErr(err))
	}
	info := s.CachedInfo()
	out := ClusterInfo{
		First: info.State.FirstSeq, Last: info.State.LastSeq,
		Messages: info.State.Msgs, Bytes: info.State.Bytes,
	}
	if c := info.Cluster; c != nil {
		out.Cluster, out.Leader = c.Name, c.Leader
		for _, p := range c.Replicas {
			out.Replicas = append(out.Replicas, Replica{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag})
		}
	}
	return out, nil
}
