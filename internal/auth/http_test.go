package auth

import (
	"net/http/httptest"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct{ header, want string }{
		{"Bearer abc", "abc"},
		{"bearer abc", "abc"},
		{"BEARER abc", "abc"},
		{"  Bearer   abc  ", "abc"},
		{"Basic abc", ""},
		{"Bearer", ""},
		{"Bearerabc", ""},
		{"abc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if got := BearerToken(r); got != tt.want {
			t.Errorf("BearerToken(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestQueryToken(t *testing.T) {
	tests := []struct{ url, want string }{
		{"/v1/stream?access_token=hk_x", "hk_x"},
		{"/v1/stream?topics=a&access_token=hk_y", "hk_y"},
		{"/v1/stream?token=hk_x", ""},
		{"/v1/stream", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.url, nil)
		if got := QueryToken(r, "access_token"); got != tt.want {
			t.Errorf("QueryToken(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
