package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnsureAdmin makes sure an admin token exists on first start. If the file
// at path holds a token that authenticates as an admin key, it returns that
// token; otherwise it creates an admin key named "admin" allowed to publish
// and subscribe to everything, writes its token to path (mode 0600, parent
// directory created with mode 0700) and returns it with created true.
func (s *Service) EnsureAdmin(ctx context.Context, path string) (token string, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		token = strings.TrimSpace(string(data))
		k, err := s.Authenticate(ctx, token)
		switch {
		case err == nil && k.Admin:
			return token, false, nil
		case err == nil:
			s.log.Warn("admin key file holds a non-admin key; creating a new admin key", "path", path)
		case errors.Is(err, ErrUnauthorized):
			s.log.Warn("admin key file holds no valid key; creating a new admin key", "path", path)
		default:
			// The engine could not be asked: do not mint an admin key on
			// every start while it is down.
			return "", false, fmt.Errorf("auth: check admin key: %w", err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", false, fmt.Errorf("auth: read admin key: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("auth: admin key directory: %w", err)
	}
	k, token, err := s.Create(ctx, Spec{Name: "admin", Publish: []string{">"}, Subscribe: []string{">"}, Admin: true})
	if err != nil {
		return "", false, err
	}
	if err := writeSecretFile(path, token+"\n"); err != nil {
		// Do not leave behind an admin key nobody holds the token for.
		if rerr := s.Revoke(ctx, k.ID); rerr != nil {
			s.log.Error("revoke unsaved admin key", "id", k.ID, "err", rerr)
		}
		return "", false, err
	}
	return token, true, nil
}

// writeSecretFile replaces path with data atomically, readable only by its
// owner: a crash never leaves a half-written token or a world-readable one.
func writeSecretFile(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".admin-key-*")
	if err != nil {
		return fmt.Errorf("auth: write admin key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	// CreateTemp already uses 0600; say so explicitly rather than rely on it.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("auth: write admin key: %w", err)
	}
	return nil
}
