package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// The configuration file (--config, HERALD_CONFIG) holds values of the
// global flags and of serve's, under the flags' own names (retention-age,
// tls-cert). Precedence: a flag on the command line, then its HERALD_*
// variable, then the file, then the default. It is a kong resolver: kong
// asks it for every flag the command line left unset, and it answers only
// for flags whose variable is unset too (kong applies variables before
// resolvers, so without that the file would override them).

// ErrConfig is wrapped by every error about the configuration file's
// content.
var ErrConfig = errors.New("configuration file")

// notInFile are the flags a file cannot set.
var notInFile = []string{"help", "version", "config"}

// configFile is a parsed configuration file: flag name → value.
type configFile struct {
	path   string
	values map[string]any // string, or []any of strings for a list
	lines  map[string]int // where each key is
}

// loadConfig reads and checks the file at path against app's flags.
func loadConfig(path string, app *kong.Application) (*configFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return parseConfig(path, b, fileFlagNames(app))
}

// parseConfig parses a configuration file's content; names are the keys
// it may hold.
func parseConfig(path string, b []byte, names []string) (*configFile, error) {
	c := &configFile{path: path, values: map[string]any{}, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrConfig, path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty: every value from elsewhere
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return c, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, c.errorf(top, "want a mapping of flag names to values, e.g. \"retention-age: 24h\"")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, c.errorf(k, "a key must be a flag's name")
		}
		if !slices.Contains(names, k.Value) {
			return nil, c.errorf(k, "unknown key %q%s", k.Value, suggest(k.Value, names))
		}
		if _, dup := c.values[k.Value]; dup {
			return nil, c.errorf(k, "key %q appears twice", k.Value)
		}
		val, err := c.value(k.Value, v)
		if err != nil {
			return nil, err
		}
		c.values[k.Value], c.lines[k.Value] = val, k.Line
	}
	return c, nil
}

// value is what kong is given for a key's node: the scalar's text, parsed
// as the command line's would be, or a list of them.
func (c *configFile) value(key string, v *yaml.Node) (any, error) {
	switch v.Kind {
	case yaml.AliasNode:
		return c.value(key, v.Alias)
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, c.errorf(v, "%s: no value", key)
		}
		return v.Value, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(v.Content))
		for _, e := range v.Content {
			if e.Kind == yaml.AliasNode {
				e = e.Alias
			}
			if e.Kind != yaml.ScalarNode {
				return nil, c.errorf(e, "%s: a list holds plain values", key)
			}
			list = append(list, e.Value)
		}
		return list, nil
	}
	return nil, c.errorf(v, "%s: want a value or a list, not a mapping", key)
}

func (c *configFile) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w %s:%d: %s", ErrConfig, c.path, n.Line, fmt.Sprintf(format, args...))
}

// suggest names the flag closest to word, if one is close enough to be
// what was meant.
func suggest(word string, names []string) string {
	best, bestDist := "", max(3, len(word)/4+1)
	for _, n := range names {
		if d := levenshtein.ComputeDistance(word, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return "; the keys are the names of herald serve's flags (herald help serve)"
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// Validate is kong's check of a resolver; loadConfig checked the file.
func (c *configFile) Validate(*kong.Application) error { return nil }

// Resolve gives kong the file's value for a flag the command line did
// not set, unless the flag's environment variable is set.
func (c *configFile) Resolve(_ *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	if !takesFile(parent.Node()) || slices.Contains(notInFile, flag.Name) {
		return nil, nil
	}
	for _, env := range flag.Envs {
		if _, set := os.LookupEnv(env); set {
			return nil, nil
		}
	}
	v, ok := c.values[flag.Name]
	if !ok || v == "" && flag.Tag.Type == "path" {
		return nil, nil // "" would be the working directory
	}
	// Parsed here once, into a scratch value, so that a bad value's error
	// says where it is.
	scratch := reflect.New(flag.Target.Type()).Elem()
	if err := flag.Parse(kong.Scan().PushTyped(v, kong.FlagValueToken), scratch); err != nil {
		why := strings.TrimPrefix(err.Error(), "--"+flag.Name+": ") // kong names the flag itself
		return nil, fmt.Errorf("%w %s:%d: %s", ErrConfig, c.path, c.lines[flag.Name], why)
	}
	return v, nil
}

// takesFile reports whether the flags of node may come from the file: the
// global flags, serve's, and those of config print (serve's again).
func takesFile(n *kong.Node) bool {
	if n == nil {
		return false
	}
	switch {
	case n.Type == kong.ApplicationNode:
		return true
	case n.Parent != nil && n.Parent.Type == kong.ApplicationNode:
		return n.Name == "serve"
	case n.Parent != nil && n.Parent.Name == "config":
		return n.Name == "print"
	}
	return false
}

// fileFlagNames are the keys a file may hold: the global flags and serve's.
func fileFlagNames(app *kong.Application) []string {
	var names []string
	add := func(flags []*kong.Flag) {
		for _, f := range flags {
			if !slices.Contains(notInFile, f.Name) && !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
	}
	add(app.Flags)
	for _, n := range app.Children {
		if n.Name == "serve" {
			add(n.Flags)
		}
	}
	return names
}

// BeforeResolve loads the configuration file, if one is named on the
// command line or by HERALD_CONFIG, so that kong resolves unset flags
// from it.
func (c *CLI) BeforeResolve(kctx *kong.Context) error {
	path := c.Globals.Config // HERALD_CONFIG, applied by now
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Name == "config" {
			path, _ = kctx.FlagValue(p.Flag).(string)
		}
	}
	if path == "" {
		return nil
	}
	f, err := loadConfig(path, kctx.Model)
	if err != nil {
		return err
	}
	kctx.AddResolver(f)
	return nil
}

// setting is one configuration value in effect and where it came from.
type setting struct {
	Name   string
	Value  any // string, or []string for a list
	Source string
	Secret bool
}

// settings are the values in effect after kctx's parse, of the flags a
// file may set, in the order of the help.
func settings(kctx *kong.Context) []setting {
	var out []setting
	for _, p := range kctx.Path {
		node := p.Node()
		if p.Flag != nil || !takesFile(node) {
			continue
		}
		for _, f := range node.Flags {
			if slices.Contains(notInFile, f.Name) {
				continue
			}
			out = append(out, setting{Name: f.Name, Value: render(f.Target), Source: source(kctx, f),
				Secret: f.Tag.Has("secret")})
		}
	}
	return out
}

// source says where f's value came from.
func source(kctx *kong.Context, f *kong.Flag) string {
	for _, p := range kctx.Path {
		if p.Flag == f {
			if p.Resolved {
				return "file"
			}
			return "flag"
		}
	}
	for _, env := range f.Envs {
		if _, set := os.LookupEnv(env); set {
			return "env " + env
		}
	}
	return "default"
}

// render is a flag's value as the command line would spell it.
func render(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case slog.Level:
		return strings.ToLower(x.String())
	case time.Duration:
		d := x.String() // 168h0m0s: shown as 168h
		if strings.HasSuffix(d, "m0s") {
			d = strings.TrimSuffix(d, "0s")
		}
		if strings.HasSuffix(d, "h0m") {
			d = strings.TrimSuffix(d, "0m")
		}
		return d
	case fmt.Stringer:
		return x.String()
	case []string:
		return slices.Clone(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}

// redacted is what config print shows of a secret.
const redacted = "<redacted>"

// shown is s's value as config print shows it: secrets and the passwords
// of URLs redacted.
func (s setting) shown() any {
	if s.Secret {
		if s.Value == "" {
			return ""
		}
		return redacted
	}
	switch v := s.Value.(type) {
	case string:
		return redactURL(v)
	case []string:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = redactURL(e)
		}
		return out
	}
	return s.Value
}

// redactURL hides the password of a URL with one (nats://user:pw@host).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), "REDACTED")
	return strings.Replace(u.String(), "REDACTED", redacted, 1)
}

// ConfigCmd is herald config.
type ConfigCmd struct {
	Print ConfigPrintCmd `cmd:"" help:"Print the configuration herald serve would run with, as YAML: each value with its source (flag, env, file, default); secrets redacted."`
}

// ConfigPrintCmd takes serve's flags, so that it shows what a command line
// of serve would run with.
type ConfigPrintCmd struct {
	ServeCmd `embed:""`
}

// Run prints the effective configuration.
func (c *ConfigPrintCmd) Run(kctx *kong.Context, g *Globals) error {
	_, err := kctx.Stdout.Write(printSettings(g.Config, settings(kctx)))
	return err
}

// printSettings renders settings as a YAML file a --config could read,
// each value's source in its line's comment.
func printSettings(file string, ss []setting) []byte {
	head := "The configuration herald serve runs with: each value's source in its comment.\nSecrets are redacted."
	if file != "" {
		head += "\nfile: " + file
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, HeadComment: head}
	for _, s := range ss {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: s.Name}
		var v *yaml.Node
		switch x := s.shown().(type) {
		case []string:
			v = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, e := range x {
				v.Content = append(v.Content, scalar(e))
			}
		case string:
			v = scalar(x)
		}
		v.LineComment = s.Source
		doc.Content = append(doc.Content, k, v)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.Encode(doc)
	enc.Close()
	return b.Bytes()
}

// scalar is a value's node: plain where YAML allows, quoted where it
// must be (the empty string).
func scalar(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	if s == "" {
		n.Tag = "!!str"
	}
	return n
}

// changedSettings are the names of the settings whose values differ.
func changedSettings(was, now []setting) []string {
	old := map[string]any{}
	for _, s := range was {
		old[s.Name] = s.Value
	}
	var changed []string
	for _, s := range now {
		if !reflect.DeepEqual(old[s.Name], s.Value) {
			changed = append(changed, s.Name)
		}
	}
	return changed
}
