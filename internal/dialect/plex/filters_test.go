package plex

import (
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/topic"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    Filter
		allow   []string
		deny    []string
		wantErr bool
	}{
		{query: "", want: Filter{Except: []string{"log"}}, allow: []string{"playing", "timeline"}, deny: []string{"log"}},
		{query: "filters=", want: Filter{}, allow: []string{"playing", "log"}},
		{query: "filters=playing", want: Filter{Only: []string{"playing"}}, allow: []string{"playing"}, deny: []string{"log", "timeline"}},
		{query: "filters=playing,timeline", want: Filter{Only: []string{"playing", "timeline"}}, allow: []string{"timeline"}, deny: []string{"activity"}},
		{query: "filters=-activity,log", want: Filter{Except: []string{"activity", "log"}}, allow: []string{"playing"}, deny: []string{"activity", "log"}},
		{query: "filters=-", want: Filter{}, allow: []string{"log"}},
		{query: "filters=,", want: Filter{}, allow: []string{"log"}},
		{query: "filters=playing,,playing, timeline ", want: Filter{Only: []string{"playing", "timeline"}}},
		{query: "filters=transcodeSession.update", want: Filter{Only: []string{"transcodeSession.update"}},
			allow: []string{"transcodeSession.update"}, deny: []string{"transcodeSession.start"}},
		{query: "filters=someFutureType", want: Filter{Only: []string{"someFutureType"}}},
		// plexjs and plexgo send the singular; the plural wins when both are there.
		{query: "filter=playing", want: Filter{Only: []string{"playing"}}},
		{query: "filter=playing&filters=timeline", want: Filter{Only: []string{"timeline"}}},
		{query: "filters=playing&filters=log", want: Filter{Only: []string{"playing"}}},
		{query: "filters=play*", wantErr: true},
		{query: "filters=>", wantErr: true},
		{query: "filters=a..b", wantErr: true},
		{query: "filters=.a", wantErr: true},
		{query: "filters=play ing", wantErr: true},
		{query: "filters=playing,-log", wantErr: true},
		{query: "filters=--log", wantErr: true},
		{query: "filters=" + manyTypes(maxFilterTypes+1), wantErr: true},
		{query: "filters=" + manyTypes(maxFilterTypes), want: Filter{Only: strings.Split(manyTypes(maxFilterTypes), ",")}},
		{query: "filters=" + strings.Repeat("x", topic.MaxLen), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(q)
			if tt.wantErr {
				if !errors.Is(err, errBadFilter) {
					t.Fatalf("ParseFilter = %+v, %v; want errBadFilter", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Except) == 0 {
				got.Except = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFilter = %+v, want %+v", got, tt.want)
			}
			for _, typ := range tt.allow {
				if !got.Allows(typ) {
					t.Errorf("%q not allowed", typ)
				}
			}
			for _, typ := range tt.deny {
				if got.Allows(typ) {
					t.Errorf("%q allowed", typ)
				}
			}
		})
	}
}

func manyTypes(n int) string {
	types := make([]string, n)
	for i := range types {
		types[i] = "t" + strconv.Itoa(i)
	}
	return strings.Join(types, ",")
}

func TestFilterTopics(t *testing.T) {
	if got := (Filter{Except: []string{"log"}}).Topics(); !reflect.DeepEqual(got, topic.Filter{"plex.>"}) {
		t.Fatalf("exclusion topics = %v", got)
	}
	if got := (Filter{Only: []string{"playing", "update.statechange"}}).Topics(); !reflect.DeepEqual(got, topic.Filter{"plex.playing", "plex.update.statechange"}) {
		t.Fatalf("inclusion topics = %v", got)
	}
}

// FuzzParseFilter: any query either fails with errBadFilter or gives a
// filter whose hub topics are valid, within Plex, and agree with Allows.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "filters=", "filters=-log", "filters=playing,timeline", "filters=-a,b",
		"filter=playing", "filters=a*", "filters=%2Clog", "filters=-", "filters=a,-b", "filters=x.y.z",
		"filters=transcodeSession.start", "filters=a..b", "filters=>", "filters=,,,", "filters= playing "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			if !errors.Is(err, errBadFilter) {
				t.Fatalf("error %v does not wrap errBadFilter", err)
			}
			return
		}
		if flt.Only != nil && len(flt.Only) == 0 {
			t.Fatal("an empty Only list delivers nothing")
		}
		topics := flt.Topics()
		if len(topics) > topic.MaxPatterns {
			t.Fatalf("%d patterns", len(topics))
		}
		for _, p := range topics {
			if topic.ValidatePattern(p) != nil || !strings.HasPrefix(p, TopicPrefix) {
				t.Fatalf("bad hub pattern %q", p)
			}
		}
		for _, typ := range append(append([]string{"log", "playing"}, flt.Only...), flt.Except...) {
			if flt.Allows(typ) && topic.Validate(TopicPrefix+typ) == nil && !topics.Match(TopicPrefix+typ) {
				t.Fatalf("%q allowed but not matched by %v", typ, topics)
			}
		}
		for _, typ := range flt.Except {
			if flt.Allows(typ) {
				t.Fatalf("excluded %q allowed", typ)
			}
		}
	})
}
