package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/herald-io/herald/client"
)

// KeysCmd manages API keys (an admin key is required).
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create a key and print its token, once."`
	List   KeysListCmd   `cmd:"" help:"List the keys."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke a key: requests with it fail from now on."`
}

// KeysCreateCmd creates a key.
type KeysCreateCmd struct {
	Name      string   `required:"" help:"Name of the key, for people."`
	Publish   []string `help:"Topic patterns the key may publish to, e.g. app.>; repeat or comma-separate." placeholder:"PATTERN"`
	Subscribe []string `help:"Topic patterns the key may read." placeholder:"PATTERN"`
	Admin     bool     `help:"Allow everything, including managing keys."`
	Rate      float64  `help:"Requests per second (0: the server's default)." placeholder:"RATE"`

	IO cmdIO `kong:"-"`
}

// Run creates the key and prints its id and token.
func (c *KeysCreateCmd) Run(ctx context.Context, g *Globals) error {
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	k, token, err := cl.CreateKey(ctx, client.KeySpec{
		Name: c.Name, Publish: c.Publish, Subscribe: c.Subscribe, Admin: c.Admin, Rate: c.Rate,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "id     %s\ntoken  %s\n", k.ID, token)
	fmt.Fprintln(c.IO.stderr(), "Store the token now: the server keeps only a hash of it and cannot show it again.")
	return nil
}

// KeysListCmd lists the keys.
type KeysListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the keys as a table.
func (c *KeysListCmd) Run(ctx context.Context, g *Globals) error {
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	keys, err := cl.ListKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tADMIN\tPUBLISH\tSUBSCRIBE\tCREATED")
	for _, k := range keys {
		name := k.Name
		if k.Dialect != "" {
			name += " (" + k.Dialect + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, name, strconv.FormatBool(k.Admin),
			patternList(k.Publish), patternList(k.Subscribe), k.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func patternList(ps []string) string {
	if len(ps) == 0 {
		return "-"
	}
	return strings.Join(ps, ",")
}

// KeysRevokeCmd revokes a key.
type KeysRevokeCmd struct {
	ID string `arg:"" help:"Id of the key (see keys list)."`

	IO cmdIO `kong:"-"`
}

// Run revokes the key.
func (c *KeysRevokeCmd) Run(ctx context.Context, g *Globals) error {
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	if err := cl.RevokeKey(ctx, c.ID); err != nil {
		return fmt.Errorf("key %s: %w", c.ID, err)
	}
	fmt.Fprintf(c.IO.stdout(), "revoked %s\n", c.ID)
	return nil
}
