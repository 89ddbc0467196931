package main

import (
	"strings"
	"testing"
)

// herald help, herald help <command> and -h show the usage and exit 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Usage: herald <command>"},
		{[]string{"-h"}, "Usage: herald <command>"},
		{[]string{"help", "publish"}, "Usage: herald publish"},
		{[]string{"help", "keys", "create"}, "Usage: herald keys create"},
		{[]string{"publish", "-h"}, "Usage: herald publish"},
	}
	for _, tt := range tests {
		stdout, stderr, code := herald(t, tt.args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, tt.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout starting %q; want 0, nothing, and %q",
				tt.args, code, stderr, stdout[:min(len(stdout), 60)], tt.want)
		}
	}
}

// A mistyped command is named, with the command it resembles, in one line
// (not the serve command's usage); so are mistakes in a command's flags.
func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pubish"}, `herald: unknown command "pubish"; did you mean "publish"?`},
		{[]string{"--url", "http://h:1", "tial"}, `herald: unknown command "tial"; did you mean "tail"?`},
		{[]string{"frobnicate"}, `herald: unknown command "frobnicate"; run "herald help" for the commands`},
		{[]string{"help", "pubish"}, `herald: unknown command "pubish"; did you mean "publish"?`},
		{[]string{"serve", "extra"}, `herald: serve: unexpected argument extra; run "herald help serve" for its usage`},
		{[]string{"keys", "lst"}, `herald: keys: unexpected argument lst, did you mean "list"?; run "herald help keys" for its usage`},
		{[]string{"publish", "--progress", "sometimes"}, `herald: publish: --progress must be one of "auto","always","never" but got "sometimes"; run "herald help publish" for its usage`},
	}
	for _, tt := range tests {
		stdout, stderr, code := herald(t, tt.args...)
		if code == 0 || stdout != "" || stderr != tt.want+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want an error exit, nothing, and the line %q",
				tt.args, code, stdout, stderr, tt.want)
		}
	}
}
