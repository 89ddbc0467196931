package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/alecthomas/kong"
)

// HelpCmd prints the usage of herald or of one of its commands.
type HelpCmd struct {
	Command []string `arg:"" optional:"" help:"The command, e.g. publish or keys create."`
}

// Run prints the usage as --help would; a command that does not exist is
// an error (with the command it resembles).
func (c *HelpCmd) Run(k *kong.Kong) error {
	// --help prints and exits before anything is checked; what returns is
	// a command it could not find.
	_, err := k.Parse(append(slices.Clone(c.Command), "--help"))
	return err
}

// parseErrorLine is what herald prints when its command line does not
// parse: one line, never the default command's usage (a mistyped command
// falls through to serve as an argument).
func parseErrorLine(k *kong.Kong, args []string, err error) string {
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil {
		return "herald: " + err.Error()
	}
	cmd := commandName(pe.Context)
	if word, ok := strings.CutPrefix(pe.Unwrap().Error(), "unexpected argument "); ok && cmd == "serve" && !slices.Contains(args, "serve") {
		return "herald: " + unknownCommand(k, word)
	}
	if cmd == "" || errors.Is(err, ErrConfig) { // the file's fault, not the command line's
		return "herald: " + pe.Unwrap().Error()
	}
	return fmt.Sprintf("herald: %s: %s; run \"herald help %s\" for its usage", cmd, pe.Unwrap().Error(), cmd)
}

// unknownCommand names word as no command of herald's, with the closest
// that is.
func unknownCommand(k *kong.Kong, word string) string {
	best, bestDist := "", 3 // farther than two edits is not a typo
	for _, n := range k.Model.Children {
		if n.Type != kong.CommandNode || n.Hidden {
			continue
		}
		if d := levenshtein.ComputeDistance(word, n.Name); d < bestDist {
			best, bestDist = n.Name, d
		}
	}
	if best == "" {
		return fmt.Sprintf("unknown command %q; run \"herald help\" for the commands", word)
	}
	return fmt.Sprintf("unknown command %q; did you mean %q?", word, best)
}

// commandName is the command kctx selected, its words without arguments
// ("keys create"), or "" for none.
func commandName(kctx *kong.Context) string {
	var words []string
	for _, p := range kctx.Path {
		if p.Command != nil {
			words = append(words, p.Command.Name)
		}
	}
	return strings.Join(words, " ")
}
