package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Key is an API key as the server describes it; the token itself is only
// ever returned by CreateKey.
type Key struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Publish and Subscribe are the topic patterns the key may publish to
	// and read; an empty list allows nothing.
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// Admin keys may do everything, including managing keys.
	Admin bool `json:"admin"`
	// Dialect is the API a key was made for ("" for the native API).
	Dialect string            `json:"dialect,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Created time.Time         `json:"created"`
	// Rate is the key's request limit per second; 0 means the server default.
	Rate float64 `json:"rate,omitempty"`
}

// KeySpec describes a key to create.
type KeySpec struct {
	Name      string   `json:"name"`
	Publish   []string `json:"publish,omitempty"`
	Subscribe []string `json:"subscribe,omitempty"`
	Admin     bool     `json:"admin,omitempty"`
	Rate      float64  `json:"rate,omitempty"`
}

// CreateKey creates a key (admin only) and returns it with its token. The
// server stores only a hash: the token cannot be shown again.
func (c *Client) CreateKey(ctx context.Context, spec KeySpec) (Key, string, error) {
	var out struct {
		Key
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/keys", nil, spec, &out); err != nil {
		return Key{}, "", err
	}
	return out.Key, out.Token, nil
}

// ListKeys returns every key (admin only).
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/keys", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeKey deletes the key with the given id (admin only); requests made
// with it fail with ErrUnauthorized from then on.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(id), nil, nil, nil)
}
